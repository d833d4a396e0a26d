"""Liveness and readiness (PostgreSQL, Redis, and whether the newest migration is applied)."""
