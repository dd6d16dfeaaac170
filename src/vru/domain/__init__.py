"""The domain core: pure functions and plain data. Nothing here reads or writes files."""
