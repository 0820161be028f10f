"""A walk-past scenario: the clip and the live deployment that the demo, the end-to-end tests
and the benchmarks all run (one place, so they exercise the same thing)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.camera.clip import write_clip
from adapters.demo.walkpast import DEMO_FACES, load_photo, make_sprite, render, schedule
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance
from kernel.domain.watchlists import EntryInput
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
    for i, photo in enumerate(photos):
        entry = EntryInput(reference=f"WL-{i + 1}", category=category,  # type: ignore[arg-type]
                           source="public-domain photo", reason="scenario entry",
                           marking="OFFICIAL")
        data = await asyncio.to_thread((DEMO_FACES / photo).read_bytes)
        result = await gov.watchlists.enrol(dep.id, engine, data, actor=actor, entry=entry,
                                            label=photo)
        if not result.ok:
            raise PinchpointError(f"the scenario photo was refused: {result.message}")
    await gov.watchlists.review(dep.id, actor)
    await gov.deployments.go_live(dep.id, actor)
    return dep.id
