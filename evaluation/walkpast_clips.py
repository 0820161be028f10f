"""Development walk-past clips (``pinchpoint eval make-walkpast``): a seeded 720p clip of people
walking towards the camera, its ``truth.json`` and the watch-list gallery, made from a local
face data set (``lfw150`` or ``cfp``) or from any photos a caller names.

The clip is drawn by :mod:`demo.walkpast` (the demo's compositor: sprites, lanes,
growth, sway), so the ground truth comes from the very placement that drew each face. Every
output goes under the folder given (``var/eval/...``): the data sets' licences forbid copying
their images into the repository, and the gallery holds symlinks to the originals.

- Listed walkers: the gallery holds one enrolment photo; the walker is cut from a *different*
  photo of the same person (lfw150: another image of a person with ≥ 2; cfp: another frontal
  photo, or a profile photo for about 40 % of them).
- Non-listed walkers: people not on the list (lfw150: one-image identities; cfp: other people).
- ``utkface``: nobody listed; every walker is a UTKFace adult (file names carry gender and
  ethnicity, so the false alerts of passes can be counted per group), the list 100 LFW people.
- The gallery is larger than who walks (``gallery_size``, default 100 as in issue 10's
  measurement): the listed people who never walk past are there to be confused with.
- Walks alternate between the left and right of the corridor and start 0.5–0.75 walk-times
  apart, so two people are in view about half the time and never cover each other's faces.
- LFW crops are 150 × 150 (faces ~90 px): their sprites are enlarged to reach the largest face
  size; ``Pass.upscale`` records by how much.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np

from demo.clip import write_clip
from demo.walkpast import LANES, Walker, cut_sprite, face_box_at, load_photo, place, render
from evaluation.pipeline import centre_index
from evaluation.walkpast_truth import FORMAT, Box, Pass, Truth
from kernel.frames import Image

Source = Literal["lfw150", "cfp", "utkface"]
Detect = Callable[[Image], list[Box]]
"""Face boxes found in a photo (any order)."""

PROFILE_SHARE = 0.4
"""Share of listed CFP walkers cut from a profile photo (2 of CFP's 5 probes per person)."""


class WalkerSpec(msgspec.Struct, frozen=True):
    """Who walks and which photos may be cut for them (the first with a face is used)."""

    identity: str
    listed: bool
    photos: tuple[tuple[Path, str], ...]
    """(photo, kind) candidates in order of preference; kind is frontal/profile/unknown."""


class DevSet(msgspec.Struct, frozen=True):
    """The walkers, in walking order, and the gallery (one or more photos per listed id)."""

    walkers: tuple[WalkerSpec, ...]
    gallery: dict[str, tuple[Path, ...]]
    root: Path
    """The data set's folder (truth records photos relative to it)."""


def _read_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name = line.split("\t")[0].strip()
        if name:
            names.append(name)
    return names


def _shuffled(rng: np.random.Generator, items: Sequence[str]) -> list[str]:
    return [items[i] for i in rng.permutation(len(items))]


def pick_lfw150(root: Path, rng: np.random.Generator, passes: int, gallery_size: int) -> DevSet:
    """Listed walkers from identities with ≥ 2 images (enrol one, walk with another); the
    rest of the gallery from other such people; non-listed walkers from one-image people."""
    people = root / "by_identity"
    listed_n = passes // 2
    multi = [n for n in _shuffled(rng, _read_names(root / "identities_ge2.txt"))
             if len(list((people / n).glob("*.jpg"))) >= 2]
    single = _shuffled(rng, _read_names(root / "identities_single.txt"))
    if len(multi) < max(gallery_size, listed_n) or len(single) < passes - listed_n:
        raise ValueError(f"{root} has too few identities for {passes} passes")
    gallery: dict[str, tuple[Path, ...]] = {}
    walkers: list[WalkerSpec] = []
    for i, name in enumerate(multi[: max(gallery_size, listed_n)]):
        photos = sorted((people / name).glob("*.jpg"))
        order = [photos[j] for j in rng.permutation(len(photos))]
        gallery[name] = (order[0],)
        if i < listed_n:
            walkers.append(WalkerSpec(name, True, tuple((p, "unknown") for p in order[1:])))
    # A one-image person whose photo has no face is skipped: the next one walks instead.
    spare = iter(single)
    for _ in range(passes - listed_n):
        walkers.append(_lazy_single(people, spare))
    return DevSet(_interleave(rng, walkers), gallery, root)


def _lazy_single(people: Path, names: Iterable[str]) -> WalkerSpec:
    # Several candidates, each a different person: WalkerSpec takes the first with a face, and
    # the identity recorded is that photo's (see _choose).
    cands: list[tuple[Path, str]] = []
    for name, _ in zip(names, range(4), strict=False):
        cands.extend((p, f"unknown:{name}") for p in sorted((people / name).glob("*.jpg"))[:1])
    return WalkerSpec("", False, tuple(cands))


def pick_cfp(root: Path, rng: np.random.Generator, passes: int, gallery_size: int) -> DevSet:
    """Listed walkers enrolled with one frontal photo, walking with another frontal or (about
    40 %) a profile photo; non-listed walkers are CFP people left out of the gallery."""
    images = root / "Data" / "Images"
    people = _shuffled(rng, sorted(p.name for p in images.iterdir() if p.is_dir()))
    listed_n = passes // 2
    size = max(gallery_size, listed_n)
    if len(people) < size + (passes - listed_n) * 2:
        raise ValueError(f"{images} has too few people for {passes} passes")
    gallery: dict[str, tuple[Path, ...]] = {}
    walkers: list[WalkerSpec] = []

    def photos_of(person: str, skip: Path | None) -> tuple[tuple[Path, str], ...]:
        frontal = sorted((images / person / "frontal").glob("*.jpg"))
        profile = sorted((images / person / "profile").glob("*.jpg"))
        f = [(frontal[j], "frontal") for j in rng.permutation(len(frontal)) if frontal[j] != skip]
        p = [(profile[j], "profile") for j in rng.permutation(len(profile))]
        return tuple(p + f) if rng.random() < PROFILE_SHARE else tuple(f + p)

    for i, person in enumerate(people[:size]):
        frontal = sorted((images / person / "frontal").glob("*.jpg"))
        enrol = frontal[int(rng.integers(len(frontal)))]
        gallery[person] = (enrol,)
        if i < listed_n:
            walkers.append(WalkerSpec(person, True, photos_of(person, enrol)))
    others = people[size:]
    for k in range(passes - listed_n):
        # Two people per slot: if the first one's photos yield no face, the second walks.
        cands = [(photo, f"{kind}:{person}") for person in others[2 * k : 2 * k + 2]
                 for photo, kind in photos_of(person, None)]
        walkers.append(WalkerSpec("", False, tuple(cands)))
    return DevSet(_interleave(rng, walkers), gallery, root)


UTK_HALVES_SEED = 20261202
"""Fixes the split of UTKFace into two halves (see :func:`pick_utkface`)."""

UTK_FOLDER = "utkface-adults"
"""Where the ``utkface`` source's photos are, beside ``lfw150`` (whose people are the list)."""


def pick_utkface(root: Path, rng: np.random.Generator, passes: int,
                 gallery_size: int, half: int = 0) -> DevSet:
    """Every walker a UTKFace adult on no list (``root``: the ``utkface-adults`` folder); the
    list ``gallery_size`` LFW people with ≥ 2 images (one photo each), from ``lfw150`` beside
    it. The identity recorded for a walker is its photo's file stem (``age_gender_race_…``):
    UTKFace has no identities, and the stem is what names the walker's groups. ``half`` (0 or
    1) picks one of two fixed, disjoint halves of the photos (``make-walkpast`` takes the
    seed's parity: an even seed to fit on, an odd one to report on)."""
    every = sorted((root / "images").glob("*.jpg"))
    # Two fixed halves of UTKFace (a seed-independent shuffle): a threshold fitted on the
    # walk-pasts of one half is reported on the other's faces, never on its own.
    halves = np.random.default_rng(UTK_HALVES_SEED).permutation(len(every))
    photos = [every[i] for i in sorted(halves[half :: 2])]
    lfw = root.parent / "lfw150"
    people = lfw / "by_identity"
    multi = [n for n in _shuffled(rng, _read_names(lfw / "identities_ge2.txt"))
             if len(list((people / n).glob("*.jpg"))) >= 2][:gallery_size]
    if len(photos) < passes * 2 or len(multi) < gallery_size:
        raise ValueError(f"{root} (or {lfw}) has too few photos for {passes} passes")
    gallery: dict[str, tuple[Path, ...]] = {}
    for name in multi:
        files = sorted((people / name).glob("*.jpg"))
        gallery[name] = (files[int(rng.integers(len(files)))],)
    order = [photos[i] for i in rng.permutation(len(photos))]
    # Two candidates per walker: if the first photo's face is not found, the second walks.
    walkers = [WalkerSpec("", False, tuple((p, f"frontal:{p.stem}")
                                           for p in order[2 * k : 2 * k + 2]))
               for k in range(passes)]
    return DevSet(tuple(walkers), gallery, root)


def _interleave(rng: np.random.Generator, walkers: Sequence[WalkerSpec]) -> tuple[WalkerSpec, ...]:
    return tuple(walkers[i] for i in rng.permutation(len(walkers)))


def _choose(spec: WalkerSpec, detect: Detect) -> tuple[str, Path, str, Image, Box] | None:
    """(identity, photo, kind, image, face box) of the first candidate photo with a face."""
    for photo, kind in spec.photos:
        image = load_photo(photo)
        boxes = detect(image)
        if not boxes:
            continue
        box = boxes[centre_index(boxes, image.shape[1], image.shape[0])]
        kind_name, _, person = kind.partition(":")
        return (person or spec.identity, photo, kind_name, image, box)
    return None


def plan(
    rng: np.random.Generator, count: int, walk_s: float, width: int
) -> list[tuple[float, int, float, float]]:
    """(start, lane, x_from, x_to) per walk: alternating sides, starts 0.5–0.75 walks apart
    (so at most two people are in view, two about half the time)."""
    out = []
    start = 0.3
    for i in range(count):
        lane = i % 2  # LANES[0] is on the left, LANES[1] on the right
        x_from, x_to = LANES[lane]
        jitter = float(rng.uniform(-0.03, 0.03))
        out.append((start, lane, x_from + jitter, x_to + jitter))
        start += walk_s * float(rng.uniform(0.5, 0.75))
    return out


def make_walkpast(
    devset: DevSet,
    out: Path,
    detect: Detect,
    *,
    rng: np.random.Generator,
    source: str,
    seed: int | None,
    fps: int = 15,
    width: int = 1280,
    height: int = 720,
    face_px: tuple[float, float] = (40.0, 150.0),
    walk_s: float = 4.0,
    tail_s: float = 0.5,
    progress: Callable[[int], None] | None = None,
) -> Truth:
    """Write ``out/clip.mp4``, ``out/truth.json`` and ``out/gallery/<identity>/<photo>``."""
    chosen = []
    for spec in devset.walkers:
        picked = _choose(spec, detect)
        if picked is not None:
            chosen.append((spec, *picked))
    if not chosen:
        raise ValueError("no walker photo has a face the detector finds")
    walkers: list[Walker] = []
    meta = []
    for (spec, identity, photo, kind, image, box), (start, lane, x_from, x_to) in zip(
        chosen, plan(rng, len(chosen), walk_s, width), strict=True
    ):
        sprite, face = cut_sprite(image, box)
        walker = Walker(identity, sprite, face[2] - face[0], start, walk_s, x_from, x_to, face)
        walkers.append(walker)
        meta.append((spec.listed, identity, photo, kind, lane))
    seconds = walkers[-1].start_s + walk_s + tail_s
    frames = int(seconds * fps)
    passes = []
    in_view = np.zeros(frames, np.int32)
    for walker, (listed, identity, photo, kind, lane) in zip(walkers, meta, strict=True):
        boxes: list[Box] = []
        first = -1
        for i in range(frames):
            at = place(walker, i / fps, width, height, face_px)
            if at is None:
                continue
            first = i if first < 0 else first
            x1, y1, x2, y2 = face_box_at(walker, at)
            boxes.append((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)))
            in_view[i] += 1
        try:
            rel = str(photo.relative_to(devset.root))
        except ValueError:
            rel = photo.name
        passes.append(Pass(
            identity=identity, listed=listed, first_frame=first,
            last_frame=first + len(boxes) - 1, lane=lane, x_from=round(walker.x_from, 4),
            x_to=round(walker.x_to, 4), photo=rel, kind=kind,  # type: ignore[arg-type]
            upscale=round(max(1.0, face_px[1] / walker.face_width), 3), boxes=tuple(boxes)))
    occupied = int(np.count_nonzero(in_view))
    out.mkdir(parents=True, exist_ok=True)
    truth = Truth(
        format=FORMAT, fps=fps, width=width, height=height, frames=frames,
        passes=tuple(passes), listed=tuple(sorted(devset.gallery)), source=source, seed=seed,
        clip="clip.mp4", face_px=face_px,
        two_in_view=round(float(np.count_nonzero(in_view >= 2)) / max(1, occupied), 3),
    )
    _write_gallery(out / "gallery", devset.gallery)
    clip = out / "clip.mp4"
    tmp = out / "clip.part.mp4"

    def counted() -> Iterable[Image]:
        for image in render(walkers, frames / fps, fps=fps, width=width, height=height,
                            face_px=face_px):
            if progress is not None:
                progress(1)
            yield image

    written = write_clip(tmp, counted(), fps=fps)
    tmp.replace(clip)
    if written != frames:
        raise RuntimeError(f"wrote {written} frames, expected {frames}")
    (out / "truth.json").write_bytes(msgspec.json.format(msgspec.json.encode(truth)))
    return truth


def _write_gallery(folder: Path, gallery: dict[str, tuple[Path, ...]]) -> None:
    """Symlinks to the enrolment photos (the data sets may not be copied around)."""
    if folder.is_dir():
        shutil.rmtree(folder)  # a previous run's list (another seed) must not linger
    for identity, photos in sorted(gallery.items()):
        person = folder / identity
        person.mkdir(parents=True)
        for photo in photos:
            (person / photo.name).symlink_to(photo.resolve())


def pick(source: Source, root: Path, rng: np.random.Generator, passes: int,
         gallery_size: int, seed: int = 0) -> DevSet:
    """The development set of ``source`` under ``root`` (the data set's own folder); for
    ``utkface`` the seed's parity picks the half of the photos."""
    if source == "lfw150":
        return pick_lfw150(root, rng, passes, gallery_size)
    if source == "utkface":
        return pick_utkface(root, rng, passes, gallery_size, half=seed % 2)
    return pick_cfp(root, rng, passes, gallery_size)
