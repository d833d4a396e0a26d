"""Accounts people run themselves: sign-up, email verification, password change and reset,
deletion, and the administrators' list and disable switch. Mail goes through a queue in
PostgreSQL (`mail_outbox`), sent by a worker, never on the request's path."""
