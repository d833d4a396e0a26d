"""Wiring: the lifespan that opens the clients, the typed dependencies that hand them to
handlers, and the plug a feature uses to keep its own state for the app's life. The top of the
platform: it knows the clients and observability, and no feature."""
