"""`make domain NAME=orders`: a new owner-scoped CRUD domain in one command (docs/api.md,
"Adding a feature"). The generator is `generate.py`; the files it writes are the templates in
`templates/`."""
