"""Runs the serving stack (nginx + gunicorn + the echo service) as ordinary host processes:
`make local`, the end-to-end tests and the benchmarks share it."""
