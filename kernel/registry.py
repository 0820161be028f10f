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
from typing import Literal, cast, overload

import msgspec

from kernel.errors import AdapterNotFound, ConfigError
from kernel.protocols.adapter import AdapterClass
from kernel.protocols.camera import CameraSource
from kernel.protocols.engine import FaceEngine
from kernel.protocols.index import VectorIndex
from kernel.protocols.link import NodeLink
from kernel.protocols.sink import AlertSink
from kernel.protocols.store import Store

GROUP = "pinchpoint.adapters"
ROUTES_GROUP = "pinchpoint.http_routes"
KINDS = ("camera", "engine", "index", "store", "sink", "service", "link")

SEAMS: dict[str, type] = {
    "camera": CameraSource, "engine": FaceEngine, "index": VectorIndex, "store": Store,
    "sink": AlertSink, "link": NodeLink,
}
"""The Protocol an adapter of each kind implements (all ``runtime_checkable``): what
:func:`check` holds a constructed adapter to. ``service`` is checked by the runtime against
:class:`kernel.protocols.service.Service`, whose context names the domain (which loads its
store through this registry): naming it here would make an import cycle."""

_extra: dict[str, object] = {}


def register(kind: str, name: str, cls: object) -> None:
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


@overload
def load(kind: Literal["camera"], name: str) -> AdapterClass[CameraSource]: ...
@overload
def load(kind: Literal["engine"], name: str) -> AdapterClass[FaceEngine]: ...
@overload
def load(kind: Literal["index"], name: str) -> AdapterClass[VectorIndex]: ...
@overload
def load(kind: Literal["store"], name: str) -> AdapterClass[Store]: ...
@overload
def load(kind: Literal["sink"], name: str) -> AdapterClass[AlertSink]: ...
@overload
def load(kind: Literal["link"], name: str) -> AdapterClass[NodeLink]: ...
@overload
def load(kind: str, name: str) -> AdapterClass[object]: ...
def load(kind: str, name: str) -> AdapterClass[object]:
    """The adapter class registered as ``kind.name``, typed by its kind's seam: calling it
    with ``(config, context)`` gives a :data:`SEAMS` ``[kind]`` (check it with :func:`check`;
    a ``service`` is an ``object`` until the runtime checks it).

    Raises :class:`AdapterNotFound` listing the names that do exist, so a typo in config is
    answered with the alternatives, and :class:`ConfigError` for a class with no msgspec
    ``Config``.
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
    return cast(AdapterClass[object], cls)


def check(kind: str, name: str, adapter: object) -> None:
    """Raise :class:`ConfigError` unless ``adapter`` (built from ``kind.name``) has every
    method of its kind's seam: an integrator's class missing one is named at start-up, with
    what it lacks, not on the first frame."""
    seam = SEAMS.get(kind)
    if seam is None or isinstance(adapter, seam):
        return
    missing = sorted(m for m in _members(seam) if not hasattr(adapter, m))
    raise ConfigError(f"{kind} adapter {name!r} ({type(adapter).__qualname__}) does not "
                      f"implement {seam.__name__}: missing {', '.join(missing) or 'attributes'}")


def _members(seam: type) -> list[str]:
    """The methods and attributes a Protocol declares in its own body."""
    names = {n for n, v in vars(seam).items() if callable(v) and not n.startswith("_")}
    return sorted(names | set(getattr(seam, "__annotations__", {})))


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
