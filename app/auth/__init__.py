"""Authentication: login, sessions and their cached profile in Redis, logout, accounts."""
