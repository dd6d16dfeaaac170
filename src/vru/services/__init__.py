"""Services: one function per use case, combining adapters and the domain."""
