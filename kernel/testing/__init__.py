"""Reusable contract test suites that integrators run against their own adapters."""
