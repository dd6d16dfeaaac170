"""Security of the records service: roles and the role matrix, password hashing and policy,
one-time codes, sessions, sign-in throttling and settings that refuse unsafe values."""
