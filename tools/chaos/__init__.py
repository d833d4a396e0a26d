"""Reliability proofs against the real serving stack (nginx -> gunicorn) with dependencies that
can be stopped: fault injection under load (`make chaos`), overload, and API fuzzing (`make fuzz`).
"""
