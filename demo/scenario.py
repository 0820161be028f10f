"""A walk-past scenario: the clip and the live deployment that the demo, the end-to-end tests
and the benchmarks all run (one place, so they exercise the same thing)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from demo.clip import write_clip
from demo.walkpast import DEMO_FACES, load_photo, make_sprite, render, schedule
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance
from kernel.domain.watchlists import EnrolResult, EntryInput
from kernel.errors import PinchpointError
from kernel.protocols.engine import FaceEngine


def walkpast_clip(
    path: Path,
    engine: Any,
    walkers: Sequence[str | Path],
    *,
    passes: int = 1,
    gap_s: float = 1.2,
    walk_s: float = 3.0,
    fps: int = 15,
    width: int = 640,
    height: int = 360,
    tail_s: float = 0.3,
    min_seconds: float = 0.0,
) -> int:
    """Write an H.264 clip of ``walkers`` (names in the demo faces, or paths) walking towards
    the camera, ``passes`` times over; return the number of frames. ``engine`` is an
    ``engine.onnx`` instance: its detector finds each photo's face to cut the sprite around."""
    sprites = []
    for walker in walkers:
        photo = walker if isinstance(walker, Path) else DEMO_FACES / walker
        image = load_photo(photo)
        faces = engine.detector.detect(image)
        if not faces:
            continue
        sprite, face_width = make_sprite(image, faces[0].box)
        sprites.append((photo.stem, sprite, face_width))
    plan = schedule(sprites * passes, gap_s=gap_s, duration_s=walk_s)
    seconds = max(min_seconds, plan[-1].start_s + plan[-1].duration_s + tail_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    frames = write_clip(tmp, render(plan, seconds, fps=fps, width=width, height=height), fps=fps)
    tmp.replace(path)
    return frames


async def authorised_deployment(
    gov: Governance,
    *,
    name: str = "walk-past",
    actor: str = "scenario",
    threshold: float | None = None,
) -> str:
    """Create and authorise a deployment whose window is open now; its id. ``threshold``
    None keeps the configured default."""
    now = gov.ctx.clock.now()
    dep = await gov.deployments.create(
        DeploymentDraft(
            name=name, authorising_officer="Supt. A. Example (authorising officer)",
            location="Walk-past corridor", starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=8),
            objectives="Locate the people on the watch list at the pinch point.",
            case_reference="SCENARIO-1",
            command_team=["Gold: Ch. Supt. Example", "Silver: Supt. Example",
                          "Bronze: Insp. Example"],
            match_threshold=threshold),
        actor)
    await gov.deployments.authorise(dep.id, actor)
    return dep.id


async def enrol_entry(
    gov: Governance,
    engine: FaceEngine,
    deployment_id: str,
    photos: Sequence[bytes],
    *,
    reference: str,
    label: str = "",
    actor: str = "scenario",
    category: str = "wanted",
    source: str = "public-domain photo",
) -> list[EnrolResult]:
    """Enrol one watch-list entry from ``photos`` through the governed core (R8, R10): the
    first photo that passes makes the entry, the others are added to it. One result per
    photo, in order (a refused photo's result says why)."""
    entry = EntryInput(reference=reference, category=category,  # type: ignore[arg-type]
                       source=source, reason="scenario entry", marking="OFFICIAL")
    results: list[EnrolResult] = []
    entry_id: str | None = None
    for data in photos:
        result = await gov.watchlists.enrol(
            deployment_id, engine, data, actor=actor,
            entry=entry if entry_id is None else None, entry_id=entry_id, label=label)
        if result.ok and entry_id is None:
            entry_id = result.entry_id
        results.append(result)
    return results


async def put_live(gov: Governance, deployment_id: str, actor: str = "scenario") -> None:
    """Record the watch-list review and put the deployment live (R9)."""
    await gov.watchlists.review(deployment_id, actor)
    await gov.deployments.go_live(deployment_id, actor)


async def live_deployment(
    gov: Governance,
    engine: FaceEngine,
    photos: Sequence[str] = ("obama.jpg",),
    *,
    name: str = "walk-past",
    actor: str = "scenario",
    threshold: float | None = None,
    category: str = "wanted",
) -> str:
    """Create, authorise, enrol ``photos`` (one entry each), review and start a deployment
    whose window is open now; its id. ``threshold`` None keeps the configured default."""
    dep_id = await authorised_deployment(gov, name=name, actor=actor, threshold=threshold)
    for i, photo in enumerate(photos):
        data = await asyncio.to_thread((DEMO_FACES / photo).read_bytes)
        (result,) = await enrol_entry(gov, engine, dep_id, [data], reference=f"WL-{i + 1}",
                                      label=photo, actor=actor, category=category)
        if not result.ok:
            raise PinchpointError(f"the scenario photo was refused: {result.message}")
    await put_live(gov, dep_id, actor)
    return dep_id
