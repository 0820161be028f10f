"""A contract test suite that any :class:`~kernel.protocols.index.VectorIndex` must pass.

An integrator runs it against their own index by subclassing in a pytest module::

    from kernel.testing.index_contract import IndexContract

    class TestMyIndex(IndexContract):
        def make_index(self, dim: int) -> VectorIndex:
            return MyIndex(MyIndex.Config(dim=dim), context)

The base class's name does not start with ``Test``, so pytest collects only the subclasses.
Approximate indexes may raise :attr:`IndexContract.score_tolerance` (quantised storage moves
scores by up to about 1e-2); the data are small enough that a sound HNSW finds the true
nearest neighbour every time. Invalid input (wrong dimension, mismatched lengths, k < 1) must
raise ``ValueError``. Requirement: R10 (watch-list search) — every index gives the same
answers in the same shape, so the kernel can swap one for another by configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import msgspec
import numpy as np
import numpy.typing as npt
import pytest

from kernel.protocols.index import SearchResult, VectorIndex


def unit_vectors(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    """``n`` random L2-normalised float32 vectors (isotropic, reproducible from ``seed``)."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def keys_of(*values: int) -> npt.NDArray[np.int64]:
    """An int64 key array."""
    return np.array(values, dtype=np.int64)


class IndexContract:
    """Behaviour every index must show. Subclass it and implement :meth:`make_index`."""

    dim: ClassVar[int] = 32
    size: ClassVar[int] = 200
    score_tolerance: ClassVar[float] = 1e-4
    min_self_recall: ClassVar[float] = 1.0
    """Share of stored vectors that must find themselves; an HNSW index may set 0.98."""

    def make_index(self, dim: int) -> VectorIndex:
        """A new, empty index for templates of length ``dim``."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------

    def filled(self, n: int | None = None, seed: int = 0) -> tuple[VectorIndex, np.ndarray]:
        n = self.size if n is None else n
        index = self.make_index(self.dim)
        vectors = unit_vectors(n, self.dim, seed)
        index.add(np.arange(n, dtype=np.int64) * 7 + 3, vectors)
        return index, vectors

    @staticmethod
    def key_for(row: int) -> int:
        return row * 7 + 3

    def check_shape(self, result: SearchResult, n_queries: int, k: int) -> None:
        assert isinstance(result, SearchResult)
        assert result.keys.shape == (n_queries, k)
        assert result.scores.shape == (n_queries, k)
        assert result.keys.dtype == np.int64
        assert result.scores.dtype == np.float32

    # -- the contract --------------------------------------------------------------------

    def test_satisfies_protocol(self) -> None:
        """R2: the index is a VectorIndex with a msgspec Struct Config."""
        index = self.make_index(self.dim)
        assert isinstance(index, VectorIndex)
        assert issubclass(getattr(type(index), "Config", object), msgspec.Struct)
        assert len(index) == 0

    def test_empty_search_is_padding(self) -> None:
        """R2: an empty index answers every query with key -1 and score -inf."""
        index = self.make_index(self.dim)
        result = index.search(unit_vectors(3, self.dim, 1), k=4)
        self.check_shape(result, 3, 4)
        assert np.all(result.keys == -1)
        assert np.all(np.isneginf(result.scores))

    def test_add_then_search_finds_itself(self) -> None:
        """R2: each stored template is its own best match with cosine ≈ 1."""
        index, vectors = self.filled()
        assert len(index) == self.size
        result = index.search(vectors, k=1)
        self.check_shape(result, self.size, 1)
        expected = np.array([self.key_for(i) for i in range(self.size)], dtype=np.int64)
        found = result.keys[:, 0] == expected
        # An approximate (HNSW) index may miss a few; an exact one never does.
        assert found.mean() >= self.min_self_recall, f"self-recall {found.mean():.4f}"
        np.testing.assert_allclose(result.scores[found, 0], 1.0, atol=self.score_tolerance)

    def test_scores_are_cosine_similarities(self) -> None:
        """R2: scores are cosine similarity whatever the input vectors' lengths."""
        index = self.make_index(self.dim)
        vectors = unit_vectors(20, self.dim, 2)
        index.add(np.arange(20, dtype=np.int64), vectors * 3.5)
        query = unit_vectors(1, self.dim, 3) * 0.25
        result = index.search(query, k=5)
        q = query[0] / np.linalg.norm(query[0])
        expected = vectors[result.keys[0]] @ q
        np.testing.assert_allclose(result.scores[0], expected, atol=max(self.score_tolerance, 1e-5))
        true_best = int(np.argmax(vectors @ q))
        assert result.keys[0, 0] == true_best

    def test_scores_descending_and_bounded(self) -> None:
        """R2: each row is best first, and scores lie in [-1, 1]."""
        index, _ = self.filled()
        result = index.search(unit_vectors(10, self.dim, 4), k=15)
        self.check_shape(result, 10, 15)
        assert np.all(np.diff(result.scores, axis=1) <= 0)
        assert np.all(result.scores <= 1.0) and np.all(result.scores >= -1.0)
        for row in result.keys:
            assert len(set(row.tolist())) == row.size, "a key appears twice in one row"

    def test_batch_search_shape(self) -> None:
        """R2: n queries give (n, k) keys and scores; row i answers query i."""
        index, vectors = self.filled()
        picks = [5, 0, 199, 42, 42]
        result = index.search(vectors[picks], k=3)
        self.check_shape(result, len(picks), 3)
        np.testing.assert_array_equal(result.keys[:, 0], [self.key_for(i) for i in picks])

    def test_k_larger_than_size_pads(self) -> None:
        """R2: with fewer entries than k, the tail of each row is key -1, score -inf."""
        index = self.make_index(self.dim)
        vectors = unit_vectors(3, self.dim, 5)
        index.add(keys_of(10, 20, 30), vectors)
        result = index.search(vectors[:2], k=5)
        self.check_shape(result, 2, 5)
        assert set(result.keys[0, :3].tolist()) == {10, 20, 30}
        assert np.all(result.keys[:, 3:] == -1)
        assert np.all(np.isneginf(result.scores[:, 3:]))
        assert np.all(np.isfinite(result.scores[:, :3]))

    def test_add_existing_key_replaces(self) -> None:
        """R2: adding under an existing key replaces that key's vector, not duplicates it."""
        index, vectors = self.filled(50)
        fresh = unit_vectors(1, self.dim, 99)
        index.add(keys_of(self.key_for(7)), fresh)
        assert len(index) == 50
        result = index.search(fresh, k=1)
        assert result.keys[0, 0] == self.key_for(7)
        np.testing.assert_allclose(result.scores[0, 0], 1.0, atol=self.score_tolerance)
        old = index.search(vectors[7:8], k=50)
        assert np.sum(old.keys[0] == self.key_for(7)) == 1
        assert old.keys[0, 0] != self.key_for(7) or old.scores[0, 0] < 0.99

    def test_duplicate_keys_in_one_batch_last_wins(self) -> None:
        """R2: a batch naming a key twice keeps the later vector."""
        index = self.make_index(self.dim)
        vectors = unit_vectors(3, self.dim, 6)
        index.add(keys_of(1, 2, 1), vectors)
        assert len(index) == 2
        result = index.search(vectors[2:3], k=1)
        assert result.keys[0, 0] == 1
        np.testing.assert_allclose(result.scores[0, 0], 1.0, atol=self.score_tolerance)

    def test_remove(self) -> None:
        """R2: removed keys are never returned; unknown keys are ignored."""
        index, vectors = self.filled(60)
        gone = [self.key_for(i) for i in (0, 13, 59)]
        index.remove(np.array([*gone, 123456789], dtype=np.int64))
        assert len(index) == 57
        result = index.search(vectors, k=60)
        assert not np.isin(result.keys, gone).any()
        assert np.sum(result.keys[0] != -1) == 57
        result = index.search(vectors[[1, 58]], k=1)
        np.testing.assert_array_equal(result.keys[:, 0], [self.key_for(1), self.key_for(58)])
        index.remove(np.array(gone, dtype=np.int64))
        assert len(index) == 57

    def test_remove_all_then_reuse(self) -> None:
        """R2: an index emptied by removal pads again and accepts new entries."""
        index, vectors = self.filled(10)
        index.remove(np.array([self.key_for(i) for i in range(10)], dtype=np.int64))
        assert len(index) == 0
        result = index.search(vectors[:2], k=2)
        assert np.all(result.keys == -1)
        index.add(keys_of(5), vectors[3:4])
        assert index.search(vectors[3:4], k=1).keys[0, 0] == 5

    def test_remove_then_add_same_key(self) -> None:
        """R2: a removed key can be added again with a new vector."""
        index, _ = self.filled(20)
        key = self.key_for(4)
        index.remove(keys_of(key))
        fresh = unit_vectors(1, self.dim, 77)
        index.add(keys_of(key), fresh)
        assert len(index) == 20
        assert index.search(fresh, k=1).keys[0, 0] == key

    def test_keys_are_int64(self) -> None:
        """R2: any int64 key but -1 round-trips, including negative and beyond 2**53."""
        index = self.make_index(self.dim)
        keys = keys_of(-(2**62), -2, 0, 2**53 + 1, 2**63 - 1)
        vectors = unit_vectors(5, self.dim, 8)
        index.add(keys, vectors)
        result = index.search(vectors, k=1)
        assert result.keys.dtype == np.int64
        np.testing.assert_array_equal(result.keys[:, 0], keys)

    def test_invalid_input_raises_value_error(self) -> None:
        """R2: wrong dimension, mismatched lengths and k < 1 are refused with ValueError."""
        index, _ = self.filled(5)
        with pytest.raises(ValueError):
            index.add(keys_of(1), unit_vectors(1, self.dim + 1, 9))
        with pytest.raises(ValueError):
            index.add(keys_of(1, 2), unit_vectors(1, self.dim, 9))
        with pytest.raises(ValueError):
            index.search(unit_vectors(1, self.dim - 1, 9), k=1)
        with pytest.raises(ValueError):
            index.search(unit_vectors(1, self.dim, 9), k=0)
        assert len(index) == 5

    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        """R2: a fresh index loaded from a saved file answers exactly as the original."""
        index, vectors = self.filled()
        index.remove(keys_of(self.key_for(3)))
        path = tmp_path / "watchlist.index"
        index.save(path)
        queries = np.concatenate([vectors[:20], unit_vectors(5, self.dim, 10)])
        before = index.search(queries, k=5)
        restored = self.make_index(self.dim)
        restored.load(path)
        assert len(restored) == len(index)
        after = restored.search(queries, k=5)
        np.testing.assert_array_equal(after.keys, before.keys)
        np.testing.assert_allclose(after.scores, before.scores, atol=1e-6)
        # A loaded index must still accept changes.
        fresh = unit_vectors(1, self.dim, 11)
        restored.add(keys_of(self.key_for(3)), fresh)
        restored.remove(keys_of(self.key_for(0)))
        assert len(restored) == len(index)
        assert restored.search(fresh, k=1).keys[0, 0] == self.key_for(3)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        assert not leftovers, f"temporary files left behind: {leftovers}"

    def test_save_overwrites(self, tmp_path: Path) -> None:
        """R2: saving again over the same path replaces the earlier contents."""
        path = tmp_path / "watchlist.index"
        index, _ = self.filled(30)
        index.save(path)
        index.remove(np.array([self.key_for(i) for i in range(10)], dtype=np.int64))
        index.save(path)
        restored = self.make_index(self.dim)
        restored.load(path)
        assert len(restored) == 20

    def test_random_operations_match_a_model(self) -> None:
        """R2: a seeded mix of adds, replaces and removes agrees with a dict of vectors."""
        rng = np.random.default_rng(12)
        index = self.make_index(self.dim)
        model: dict[int, np.ndarray] = {}
        for step in range(40):
            if model and rng.random() < 0.35:
                pool = np.array(sorted(model), dtype=np.int64)
                drop = rng.choice(pool, size=min(len(pool), int(rng.integers(1, 6))), replace=False)
                index.remove(drop)
                for key in drop.tolist():
                    del model[key]
            else:
                keys = rng.integers(0, 120, size=int(rng.integers(1, 12))).astype(np.int64)
                vectors = unit_vectors(keys.size, self.dim, 1000 + step)
                index.add(keys, vectors)
                for key, vector in zip(keys.tolist(), vectors, strict=True):
                    model[key] = vector
            assert len(index) == len(model)
        if model:
            keys = np.array(sorted(model), dtype=np.int64)
            queries = np.stack([model[k] for k in keys.tolist()])
            result = index.search(queries, k=1)
            np.testing.assert_array_equal(result.keys[:, 0], keys)


# -- face-like data ----------------------------------------------------------------------------


class FaceLikeSet(msgspec.Struct, frozen=True):
    """Templates for index tests: a gallery (one per identity) and probes of known identity.

    ``probe_identity[i]`` is the gallery row of probe i's identity, or -1 for a probe of
    someone not in the gallery.
    """

    gallery: npt.NDArray[np.float32]
    probes: npt.NDArray[np.float32]
    probe_identity: npt.NDArray[np.int64]


def face_like_templates(
    n_identities: int,
    n_probes: int,
    dim: int = 128,
    seed: int = 0,
    *,
    n_groups: int = 64,
    shared: float = 0.83,
    group: float = 0.04,
    identity: float = 0.086,
    noise: float = 0.044,
    stranger_fraction: float = 0.2,
) -> FaceLikeSet:
    """Synthetic templates with the cosine structure of dlib-like 128-d face embeddings.

    Real face embeddings are not isotropic: they share a large common component (every face
    is a face), cluster by broad appearance groups, and then by identity, and two images of
    one person differ by a small per-image term. So each template is, before normalising,
    ``√shared·g + √group·G[grp] + √identity·C[id] + s·√noise·e`` with g, G, C, e independent
    random unit vectors and s, the image's quality, uniform in [0.4, 1.6]. The defaults were
    fitted to dlib descriptors of 120 LFW people (``lfw_dlib_templates``): there, 5th/50th/95th
    percentiles of cosine are 0.92/0.96/0.98 for two images of one person and 0.78/0.84/0.89
    for two people, and the mean template has norm 0.92 (the shared component). The weights
    are variances; they need not sum to 1.
    """
    rng = np.random.default_rng(seed)

    def units(n: int) -> npt.NDArray[np.float32]:
        v = rng.standard_normal((n, dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    common = units(1)[0]
    groups = units(n_groups)
    n_strangers = round(n_probes * stranger_fraction)
    total = n_identities + n_strangers
    member_of = rng.integers(0, n_groups, size=total)
    centres = np.sqrt(shared) * common + np.sqrt(group) * groups[member_of]
    centres += np.sqrt(identity) * units(total)

    def images(of: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        quality = rng.uniform(0.4, 1.6, size=(of.size, 1)).astype(np.float32)
        mixed = centres[of] + quality * np.sqrt(noise) * units(of.size)
        v: npt.NDArray[np.float32] = mixed.astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    gallery = images(np.arange(n_identities, dtype=np.int64))
    known = rng.integers(0, n_identities, size=n_probes - n_strangers)
    strangers = np.arange(n_identities, total, dtype=np.int64)
    who = np.concatenate([known, strangers]).astype(np.int64)
    who = who[rng.permutation(who.size)]
    probes = images(who)
    probe_identity = np.where(who < n_identities, who, -1).astype(np.int64)
    return FaceLikeSet(gallery=gallery, probes=probes, probe_identity=probe_identity)


Encoder = Callable[[Path], "npt.NDArray[np.float32] | None"]
"""One LFW image's L2-normalised template, or None when no face is found in it."""


def lfw_templates(
    lfw150: Path, n_identities: int, cache: Path, encode: Encoder, probes_per_identity: int = 2
) -> FaceLikeSet:
    """Templates of LFW 150×150 crops made by ``encode``, cached in the file ``cache``.

    The gallery holds the first image of each of the first ``n_identities`` people (sorted by
    name) that have at least two images; probes are up to ``probes_per_identity`` of their
    other images. Keep ``cache`` in a temporary directory: these are biometric templates,
    albeit of a public research set, and never belong in the repository.
    """
    if cache.is_file():
        with np.load(cache) as data:
            return FaceLikeSet(
                gallery=data["gallery"], probes=data["probes"], probe_identity=data["who"]
            )
    people = [
        line.split("\t")[0]
        for line in (lfw150 / "identities_ge2.txt").read_text().splitlines()
        if line.strip()
    ]
    gallery: list[npt.NDArray[np.float32]] = []
    probes: list[npt.NDArray[np.float32]] = []
    who: list[int] = []
    for name in people:
        if len(gallery) == n_identities:
            break
        files = sorted((lfw150 / "by_identity" / name).glob("*.jpg"))
        enrolled = encode(files[0])
        if enrolled is None:
            continue
        row = len(gallery)
        gallery.append(enrolled)
        for path in files[1 : 1 + probes_per_identity]:
            probe = encode(path)
            if probe is not None:
                probes.append(probe)
                who.append(row)
    result = FaceLikeSet(
        gallery=np.stack(gallery), probes=np.stack(probes), probe_identity=np.array(who, np.int64)
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, gallery=result.gallery, probes=result.probes, who=result.probe_identity)
    tmp.replace(cache)
    return result


def lfw_dlib_templates(
    lfw150: Path, n_identities: int, cache_dir: Path, probes_per_identity: int = 2
) -> FaceLikeSet:
    """Real dlib (``face_recognition``) descriptors of LFW 150×150 crops (:func:`lfw_templates`),
    cached as ``.npz`` in ``cache_dir``. Needs the optional ``face_recognition`` package; dlib's
    own ResNet takes ~75 ms a face here, so the first call takes about a minute."""
    import face_recognition  # an optional, test-only dependency (dlib)

    def encode(path: Path) -> npt.NDArray[np.float32] | None:
        image = face_recognition.load_image_file(path)
        boxes = face_recognition.face_locations(image, number_of_times_to_upsample=1)
        if not boxes:
            return None
        # LFW crops are centred on the labelled person: take the box nearest the centre.
        h, w = image.shape[:2]
        box = min(
            boxes, key=lambda b: abs((b[0] + b[2]) / 2 - h / 2) + abs((b[1] + b[3]) / 2 - w / 2)
        )
        (vector,) = face_recognition.face_encodings(image, known_face_locations=[box])
        v = np.asarray(vector, dtype=np.float32)
        return v / np.linalg.norm(v)

    cache = cache_dir / f"pinchpoint-lfw150-dlib-{n_identities}-{probes_per_identity}.npz"
    return lfw_templates(lfw150, n_identities, cache, encode, probes_per_identity)
