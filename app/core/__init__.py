"""The bottom of the app: settings, logging, the request id and what counts as an outage.
Imports nothing else of `app`."""
