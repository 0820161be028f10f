"""Sink adapters."""
