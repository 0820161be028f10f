"""Pinchpoint kernel: configuration, lifecycle, supervision, event flow and the governed domain.

The kernel imports no adapter, web framework or database driver. Adapters are found by name
through the ``pinchpoint.adapters`` entry-point group (see :mod:`kernel.registry`).
"""
