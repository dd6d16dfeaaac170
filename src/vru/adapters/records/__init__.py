"""The records service's database: models, engine, hash-chained audit log, data-access layer
and migrations. SQLite in the data directory by default; PostgreSQL via ``VRU_DATABASE_URL``.
"""
