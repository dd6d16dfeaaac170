"""The records service's HTTP API (FastAPI): ``create_app`` builds it."""
