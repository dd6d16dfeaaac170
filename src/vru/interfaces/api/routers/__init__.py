"""The API's routers, one per area: meta (health), auth, register (cases and aggregates),
admin (users and the audit log)."""
