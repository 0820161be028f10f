"""Node-link adapters: the transport between edges and consoles (kernel/protocols/link.py)."""
