"""Adapters are found by name through entry points, so an integrator's package adds one
with a line in its own ``pyproject.toml``::

    [project.entry-points."pinchpoint.adapters"]
    "camera.mycam" = "mypackage.mycam:MyCamera"

The kernel never imports an adapter module directly; it asks this registry.

An adapter that needs HTTP endpoints of its own (the WebRTC camera's WHIP ingest) does not get
imported by the HTTP service either: it names a route factory in the entry-point group
``pinchpoint.http_routes`` (see :func:`http_routes`).
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

import msgspec

from kernel.errors import AdapterNotFound, ConfigError

GROUP = "pinchpoint.adapters"
ROUTES_GROUP = "pinchpoint.http_routes"
KINDS = ("camera", "engine", "index", "store", "sink", "service")

_extra: dict[str, Any] = {}


def register(kind: str, name: str, cls: Any) -> None:
    """Register an adapter class in-process (tests, notebooks). Entry points are the normal way."""
    if kind not in KINDS:
        raise ValueError(f"unknown adapter kind {kind!r}; kinds are {', '.join(KINDS)}")
    _extra[f"{kind}.{name}"] = cls


def unregister(kind: str, name: str) -> None:
    _extra.pop(f"{kind}.{name}", None)


def available(kind: str | None = None) -> list[str]:
    """Every registered adapter name (``kind.name``), optionally of one kind, sorted."""
    names = {ep.name for ep in entry_points(group=GROUP)} | set(_extra)
    if kind is not None:
        names = {n for n in names if n.startswith(kind + ".")}
    return sorted(names)


def _entry_point(key: str) -> EntryPoint | None:
    for ep in entry_points(group=GROUP, name=key):
        return ep
    return None


def load(kind: str, name: str) -> Any:
    """The adapter class registered as ``kind.name``.

    Raises :class:`AdapterNotFound` listing the names that do exist, so a typo in config is
    answered with the alternatives.
    """
    key = f"{kind}.{name}"
    if key in _extra:
        cls = _extra[key]
    else:
        ep = _entry_point(key)
        if ep is None:
            known = ", ".join(n.split(".", 1)[1] for n in available(kind)) or "none"
            raise AdapterNotFound(f"no {kind} adapter named {name!r} (available: {known})")
        try:
            cls = ep.load()
        except Exception as exc:  # an integrator's broken package must not look like ours
            raise AdapterNotFound(f"{kind} adapter {name!r} failed to import: {exc}") from exc
    config_type = getattr(cls, "Config", None)
    if not (isinstance(config_type, type) and issubclass(config_type, msgspec.Struct)):
        raise ConfigError(f"{kind} adapter {name!r} has no msgspec Struct 'Config' attribute")
    return cls


def http_routes() -> list[object]:
    """The HTTP routes adapters contribute to the HTTP service, in entry-point name order.

    Each entry of the group ``pinchpoint.http_routes`` names a zero-argument callable that
    returns route handlers for the HTTP service to mount (for ``service.http``: a Litestar
    ``Router`` or handler)::

        [project.entry-points."pinchpoint.http_routes"]
        "whip" = "adapters.camera.whip_routes:whip_router"

    The routes still pass the service's own access guard, so their paths must be in its role
    matrix (``mobile_api/roles.py``). A factory that fails to import or to run raises
    :class:`AdapterNotFound` naming it.
    """
    routes: list[object] = []
    for ep in sorted(entry_points(group=ROUTES_GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
            routes.append(factory())
        except Exception as exc:
            raise AdapterNotFound(f"HTTP routes {ep.name!r} ({ep.value}) failed: {exc}") from exc
    return routes
