"""Typed configuration: ``config.toml`` decoded by msgspec into Structs.

Adapter sections name their adapter with ``type`` and carry that adapter's own settings in
the same table; those settings are decoded into the adapter's ``Config`` Struct, so a wrong key
or type is reported against its full path (``cameras[1].fps``) with what was expected and
what was found. Secrets and deployment-specific values can be overridden from the environment
as ``PINCHPOINT_<SECTION>__<KEY>`` (``PINCHPOINT_SERVER__PORT=8443``; list entries are named
by their ``id``: ``PINCHPOINT_CAMERAS__GATE_1__URL``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from kernel import registry
from kernel.bounds import Count, Held, Port, Seconds, Size
from kernel.domain.episodes import EpisodeSettings
from kernel.domain.node_id import NODE_ID_PATTERN
from kernel.domain.thresholds import CEILING, FLOOR, admissible, decidable, threshold_problem
from kernel.errors import ConfigError
from kernel.pipeline.tracker import TrackerSettings

ENV_PREFIX = "PINCHPOINT_"


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for config sections: unknown keys are errors (a typo must not pass silently)."""


class ServerConfig(Strict, frozen=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    tls_cert: str | None = None
    tls_key: str | None = None
    public_url: str | None = None


class LoggingConfig(Strict, frozen=True):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["human", "json"] = "human"


class PipelineConfig(Strict, frozen=True):
    """How frames flow: ``workers`` CPU threads, at most ``queue`` jobs waiting for them, and
    ``slot_frames`` newest frames held per camera (older ones are dropped and counted);
    ``held_candidates`` accepted candidates kept in memory while storage refuses writes."""

    workers: Count = 2
    queue: Size = 2
    slot_frames: Count = 1
    batch: Count = 8
    """Frames taken per round, at most one per camera. 8 (one round serves 8 cameras): on
    2 cores 8 cameras got 5.1 analysed frames/s each against 4.5 with 4 (bench_pipeline,
    2026-12-02, p95 latency 344 against 191 ms); fewer cameras fill a round the same way."""
    held_candidates: Held = 256
    """Accepted candidates held in memory while a storage fault refuses their write (each
    about two encrypted JPEG crops, 20-100 KB); beyond that new ones are refused, counted."""
    held_retry_s: Seconds = 0.5
    held_retry_max_s: Seconds = 10.0
    """Backoff of the held candidates' writes: from ``held_retry_s``, doubling, to this."""


Threshold = Annotated[float, msgspec.Meta(ge=FLOOR, le=CEILING)]
"""A cosine match threshold: finite, in ``[FLOOR, 1]`` (:mod:`kernel.domain.thresholds`, the one
place the range is defined). Zero or below would match almost anyone (R3)."""


class MatchingConfig(Strict, frozen=True):
    """``threshold``: the default match threshold (cosine similarity of L2-normalised
    templates) for deployments that set none; calibrated with ``pinchpoint eval watchlist``
    on still photos to keep the false-positive identification rate below 0.1 % (R22;
    BENCHMARKS.md). ``track_threshold``: the threshold a track's (fused) evidence is decided
    at; None uses ``threshold``. A track's fused evidence is not one still, for impostors
    either, so it wants its own value fitted on non-listed passes (``eval walkpast``). See
    :meth:`decision_threshold` for which one applies.
    ``refresh_s``: how often the live deployment and its lists are re-read.
    Tracking and fusion: see :class:`kernel.pipeline.tracker.TrackerSettings`; how repeated
    sightings of one entry join an episode: :class:`kernel.domain.episodes.EpisodeSettings`."""

    threshold: Threshold = 0.959
    track_threshold: Threshold | None = None
    refresh_s: Seconds = 2.0
    counts_flush_s: Seconds = 60.0
    tracker: TrackerSettings = TrackerSettings()
    episodes: EpisodeSettings = EpisodeSettings()

    def __post_init__(self) -> None:
        # The same invariants as every other threshold (kernel.domain.thresholds); msgspec's
        # range check above already names the key, this also refuses a constructed value.
        for key in ("threshold", "track_threshold"):
            value = getattr(self, key)
            if value is not None and (problem := threshold_problem(value)) is not None:
                raise ValueError(f"matching.{key} {problem}")

    def decision_threshold(self, deployment_threshold: float | None) -> float:
        """The threshold a live deployment's tracks are decided at: the deployment's own
        ``match_threshold`` when it sets one (the technical lead tuned it for this deployment
        in the console, and the change is audited there, R19/R22); else ``track_threshold``;
        else ``threshold``. A stored deployment value that is not admissible (below the floor,
        NaN, above 1: the domain refuses those, so only a damaged or hand-edited row has one)
        is not used: it falls back as if unset. The result goes through
        :func:`kernel.domain.thresholds.decidable`, so it is never below the floor."""
        if deployment_threshold is not None and valid_threshold(deployment_threshold):
            return decidable(deployment_threshold)
        return decidable(self.threshold if self.track_threshold is None
                         else self.track_threshold)


def valid_threshold(value: float) -> bool:
    """Whether ``value`` is an admissible match threshold (finite, in ``[FLOOR, 1]``)."""
    return admissible(value)


class RetentionConfig(Strict, frozen=True):
    """How often the retention rules run inside the process (R17: on its own schedule)."""

    interval_s: Seconds = 3600.0
    enabled: bool = True


class SupervisionConfig(Strict, frozen=True):
    """Restart policy for crashed cameras and services: delays double from
    ``restart_initial`` to ``restart_max`` seconds; a task that ran ``stable`` seconds
    starts again from the initial delay."""

    restart_initial: Seconds = 0.5
    restart_max: Seconds = 30.0
    stable: Seconds = 60.0


NodeRole = Literal["all", "edge", "console"]


class NodeConfig(Strict, frozen=True):
    """Which part of the system this process is (issue 13, docs/scale-out.md).

    ``role``: ``all`` (the default: one process does everything, no broker), ``edge``
    (cameras, engine, tracker, matcher; no store, no API: candidates go over ``[link]``) or
    ``console`` (store, API, operator, delivery, retention; takes the edges' candidates and
    publishes the live watch lists to them). ``id``: this node's name on the link (an edge's
    reports and candidate subjects). ``link_key_file``: the 32-byte key every node of the
    link shares (or ``PINCHPOINT_LINK_KEY``). ``queue``: candidates an edge holds in memory
    while the link is down (beyond: refused, counted). ``report_s``: how often an edge
    reports. ``late_after_s``: a candidate stored longer than this after its capture is marked
    late (stored all the same)."""

    role: NodeRole = "all"
    id: Annotated[str, msgspec.Meta(pattern=NODE_ID_PATTERN)] = "node"
    link_key_file: str | None = None
    queue: Held = 1024
    report_s: Seconds = 5.0
    late_after_s: Seconds = 10.0


class AdapterSection(msgspec.Struct, frozen=True):
    """One adapter instance from config: its kind, name, type and decoded settings."""

    kind: str
    name: str
    type: str
    settings: Any


class Config(msgspec.Struct, frozen=True, kw_only=True):
    """The whole configuration after validation."""

    data_dir: Path
    server: ServerConfig
    logging: LoggingConfig
    pipeline: PipelineConfig
    supervision: SupervisionConfig
    matching: MatchingConfig
    retention: RetentionConfig
    node: NodeConfig = NodeConfig()
    engine: AdapterSection | None
    index: AdapterSection | None
    store: AdapterSection | None
    link: AdapterSection | None = None
    cameras: tuple[AdapterSection, ...]
    sinks: tuple[AdapterSection, ...]
    services: tuple[AdapterSection, ...]
    raw: dict[str, Any]
    source: Path | None = None


_SECTIONS: dict[str, type[Strict]] = {
    "server": ServerConfig,
    "logging": LoggingConfig,
    "pipeline": PipelineConfig,
    "supervision": SupervisionConfig,
    "matching": MatchingConfig,
    "retention": RetentionConfig,
    "node": NodeConfig,
}
_SINGLE = ("engine", "index", "store", "link")
_LISTS = {"cameras": "camera", "sinks": "sink", "services": "service"}
_TOP = {"data_dir", *_SECTIONS, *_SINGLE, *_LISTS}


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lookup(raw: Any, path: str) -> tuple[bool, Any]:
    """Follow a msgspec error path like ``$.cameras[0].fps`` into ``raw``."""
    node = raw
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        try:
            node = node[name] if name else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _convert(value: Any, type_: Any, where: str) -> Any:
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = re.search(r" - at `\$(.*)`$", message)
        inner = match.group(1) if match else ""
        detail = message[: match.start()] if match else message
        key = f"{where}{inner}".lstrip(".") or "(top level)"
        unknown = re.search(r"unknown field `([^`]+)`", detail)
        if unknown:
            raise ConfigError(
                f"config key {key}.{unknown.group(1)}: unknown key (check the spelling)"
            ) from None
        found, got = _lookup(value, inner)
        shown = _describe(got) if found else "nothing"
        raise ConfigError(f"config key {key}: {detail}; found {shown}") from None


def _adapter(kind: str, raw: Any, where: str, default_name: str | None = None) -> AdapterSection:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config key {where}: expected a table, found {_describe(raw)}")
    settings = dict(raw)
    type_name = settings.pop("type", None)
    if not isinstance(type_name, str):
        raise ConfigError(f"config key {where}.type: expected `str` naming a {kind} adapter, "
                          f"found {_describe(type_name)} (available: "
                          f"{', '.join(n.split('.', 1)[1] for n in registry.available(kind))})")
    name = settings.pop("id", None) or default_name or type_name
    if not isinstance(name, str):
        raise ConfigError(f"config key {where}.id: expected `str`, found {_describe(name)}")
    cls = registry.load(kind, type_name)
    return AdapterSection(kind, name, type_name, _convert(settings, cls.Config, where))


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for var, text in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX):].split("__")]
        if parts[0] not in _TOP:
            continue
        value = _parse_scalar(text)
        node: Any = raw
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                match = [e for e in node if isinstance(e, dict)
                         and str(e.get("id", "")).lower().replace("-", "_") == part]
                if not match:
                    raise ConfigError(f"environment {var}: no entry with id {part!r}")
                if last:
                    raise ConfigError(f"environment {var}: names a whole list entry")
                node = match[0]
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})


def _parse_scalar(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse(raw: dict[str, Any], source: Path | None = None,
          environ: Mapping[str, str] | None = None) -> Config:
    """Validate a raw config mapping (already read from TOML) into a :class:`Config`."""
    raw = _deepcopy(raw)
    _apply_env(raw, os.environ if environ is None else environ)
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise ConfigError(f"config key {unknown[0]}: unknown section "
                          f"(known: {', '.join(sorted(_TOP))})")
    base = source.parent if source else Path.cwd()
    data_dir = raw.get("data_dir", "var")
    if not isinstance(data_dir, str):
        raise ConfigError(f"config key data_dir: expected `str`, found {_describe(data_dir)}")
    sections = {key: _convert(raw.get(key, {}), cls, key) for key, cls in _SECTIONS.items()}
    singles = {key: _adapter(key, raw[key], key) if key in raw else None for key in _SINGLE}
    lists: dict[str, tuple[AdapterSection, ...]] = {}
    for key, kind in _LISTS.items():
        entries = raw.get(key, [])
        if not isinstance(entries, list):
            raise ConfigError(f"config key {key}: expected an array of tables "
                              f"([[{key}]]), found {_describe(entries)}")
        lists[key] = tuple(_adapter(kind, e, f"{key}[{i}]") for i, e in enumerate(entries))
        names = [s.name for s in lists[key]]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"config key {key}: id {dupes[0]!r} is used twice")
    return Config(
        data_dir=(base / data_dir).resolve(),
        raw=raw,
        source=source,
        server=sections["server"],
        logging=sections["logging"],
        pipeline=sections["pipeline"],
        supervision=sections["supervision"],
        matching=sections["matching"],
        retention=sections["retention"],
        node=_node(sections["node"], singles, lists),
        engine=singles["engine"],
        index=singles["index"],
        store=singles["store"],
        link=singles["link"],
        cameras=lists["cameras"],
        sinks=lists["sinks"],
        services=lists["services"],
    )


def _node(node: Any, singles: Mapping[str, AdapterSection | None],
          lists: Mapping[str, tuple[AdapterSection, ...]]) -> NodeConfig:
    """The ``[node]`` section, checked against what its role needs and has no use for."""
    assert isinstance(node, NodeConfig)
    if node.role != "all" and singles["link"] is None:
        raise ConfigError(f"config key node.role: role {node.role} needs a [link] section "
                          "(type = \"nats\")")
    if node.role == "edge":
        if singles["engine"] is None:
            raise ConfigError("config key node.role: an edge needs an [engine]")
        unused = [k for k in ("store",) if singles[k] is not None]
        unused += [k for k in ("sinks", "services") if lists[k]]
    elif node.role == "console":
        if singles["store"] is None:
            raise ConfigError("config key node.role: a console needs a [store]")
        unused = ["cameras"] if lists["cameras"] else []
    else:
        unused = []
    if unused:
        raise ConfigError(f"config key {unused[0]}: a node of role {node.role} has no "
                          f"{unused[0]} (docs/scale-out.md says which role runs what)")
    return node


def with_role(config: Config, role: NodeRole) -> Config:
    """``config`` as the node ``role`` (``pinchpoint run --role``), checked as if set in it."""
    raw = _deepcopy(config.raw)
    raw.setdefault("node", {})["role"] = role
    return parse(raw, source=config.source, environ={})


def _deepcopy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


def load(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config file. Every problem is a :class:`ConfigError`."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse(raw, source=path.resolve(), environ=environ)
