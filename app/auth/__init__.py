"""Authentication: login, sessions in Redis, logout, and the gateway verify endpoint."""
