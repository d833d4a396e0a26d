"""The single version string of the service (OpenAPI, /v2/hello, the image label)."""

__version__ = "1.0.0"
