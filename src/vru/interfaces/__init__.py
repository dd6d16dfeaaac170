"""Interfaces: thin layers (CLI now; HTTP API and pages later) over the service functions."""
