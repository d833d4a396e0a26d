"""The service. Layers, top to bottom (docs/architecture.md; `make lint` enforces them):
`cli` and `api` assemble; the features (`gateway`, `events`, `user`, `accounts`, `auth`,
`health`) do the work; the platform (`wiring`, `http`, `observability`, `core`) knows no
feature."""
