"""The service's HTTP API: one package per API version plus the auth and user features."""
