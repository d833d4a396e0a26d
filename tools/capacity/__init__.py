"""Measurements behind the capacity model in docs/scaling.md."""
