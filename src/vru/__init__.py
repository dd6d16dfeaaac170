"""vru: an open platform for Violence Reduction Units.

Layers (imports run downwards only):
    interfaces  -> services -> adapters, domain
    adapters    -> domain
    domain      -> nothing in vru (pure functions and plain data, no I/O)
"""

__version__ = "0.1.0"
