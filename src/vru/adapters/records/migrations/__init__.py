"""Alembic migrations of the records database (``env.py`` is configured from code)."""
