"""Index adapters."""
