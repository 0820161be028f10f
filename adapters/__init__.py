"""Pinchpoint's own adapters. Each module holds one adapter with its own config Struct."""
