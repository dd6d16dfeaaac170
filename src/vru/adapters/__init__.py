"""Adapters: turn the outside world (files, databases, publishers' URLs) into domain data."""
