"""Users: display names (read, change) and search."""
