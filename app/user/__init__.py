"""Users: display names (read, change, search) and the profile cache."""
