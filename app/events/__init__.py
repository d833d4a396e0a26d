"""Domain events: the outbox relay (PostgreSQL -> Redis Stream) and an example consumer."""
