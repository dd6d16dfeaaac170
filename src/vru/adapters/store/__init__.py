"""Storage adapters: the embedded evidence store (Parquet files + a DuckDB catalogue)."""
