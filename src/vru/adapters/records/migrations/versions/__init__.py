"""Migration scripts, oldest first. Each file is one revision."""
