"""`make bench`: the real stack (nginx -> gunicorn -> PostgreSQL/Redis) under wrk load.

Run `python -m tools.bench --help`. Modules: `cases` (what is measured), `wrk` (driving wrk and
reading its result), `seed` (scratch database, Redis index, users and sessions), `references`
(the fixed-body nginx and plain uvicorn), `runner` (the order of runs), `report` (table, ratios,
JSON).
"""
