"""Camera adapters."""
