"""Contract every face engine must pass (R2, R10).

Usage::

    class TestMyEngine(EngineContract):
        async def make_engine(self, context):
            return MyEngine(MyEngine.Config(...), context)

        def face_photo(self) -> bytes:   # one clear frontal face, JPEG or PNG
            return Path("tests/data/face.jpg").read_bytes()

The suite needs one real photo with exactly one clear face; everything else it derives.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import Detection, FaceEngine, Purpose, Rejection
from kernel.testing.camera_contract import make_context


def _decode(data: bytes) -> np.ndarray:
    with PILImage.open(io.BytesIO(data)) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB")))


class EngineContract:
    """Inherited test methods that any :class:`FaceEngine` must pass."""

    async def make_engine(self, context: AdapterContext) -> Any:
        raise NotImplementedError("implement make_engine(context) in your Test class")

    def face_photo(self) -> bytes:
        raise NotImplementedError("return the bytes of a photo with one clear face")

    async def _engine(self) -> Any:
        return await self.make_engine(make_context("contract-engine"))

    async def test_is_a_face_engine(self) -> None:
        engine = await self._engine()
        try:
            assert isinstance(engine, FaceEngine)
            assert isinstance(engine.model_id, str) and engine.model_id
            assert engine.dim > 0
        finally:
            await engine.close()

    async def test_detects_the_face_with_chip_and_quality(self) -> None:
        engine = await self._engine()
        try:
            image = _decode(self.face_photo())
            (faces,) = await engine.detect([image], Purpose.LIVE)
            assert len(faces) == 1
            face: Detection = faces[0]
            x1, y1, x2, y2 = face.box
            assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
            assert face.landmarks.shape == (5, 2)
            assert face.chip.dtype == np.uint8 and face.chip.ndim == 3
            assert face.quality.passed
        finally:
            await engine.close()

    async def test_no_face_in_a_blank_image(self) -> None:
        engine = await self._engine()
        try:
            (faces,) = await engine.detect([np.full((240, 320, 3), 127, np.uint8)])
            assert faces == []
        finally:
            await engine.close()

    async def test_templates_are_unit_rows_and_deterministic(self) -> None:
        engine = await self._engine()
        try:
            (faces,) = await engine.detect([_decode(self.face_photo())], Purpose.ENROL)
            assert faces[0].complete, "an enrolment detection's chip is cut in full"
            chips = [faces[0].chip, faces[0].chip]
            a = await engine.embed(chips)
            b = await engine.embed(chips[:1])
            assert a.shape == (2, engine.dim) and a.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
            np.testing.assert_allclose(a[0], b[0], atol=1e-5)  # batch = single
            assert (await engine.embed([])).shape == (0, engine.dim)
        finally:
            await engine.close()

    async def test_embed_faces_equals_embed_of_the_complete_chip(self) -> None:
        """A live detection embedded through ``embed_faces`` (which cuts any view the
        detection left uncut) gives the template of the complete chip of the same face."""
        engine = await self._engine()
        try:
            image = _decode(self.face_photo())
            (live,) = await engine.detect([image], Purpose.LIVE)
            (enrol,) = await engine.detect([image], Purpose.ENROL)
            a = await engine.embed_faces([(image, live[0]), (image, live[0])])
            b = await engine.embed([enrol[0].chip])
            assert a.shape == (2, engine.dim)
            np.testing.assert_allclose(a[0], b[0], atol=1e-5)
            assert (await engine.embed_faces([])).shape == (0, engine.dim)
            if not live[0].complete:
                with pytest.raises(ValueError, match="embed_faces"):
                    await engine.embed([live[0].chip])
        finally:
            await engine.close()

    async def test_enrolment_accepts_the_photo_and_refuses_junk(self) -> None:
        """R10: one clear face enrols; bytes that are no image are refused with a reason."""
        engine = await self._engine()
        try:
            ok = await engine.enrol(self.face_photo())
            assert ok.rejection is None and ok.embedding is not None
            assert ok.embedding.shape == (engine.dim,)
            bad = await engine.enrol(b"certainly not a photo")
            assert bad.rejection is Rejection.NOT_AN_IMAGE and bad.message
            blank = io.BytesIO()
            PILImage.new("RGB", (400, 300), (90, 90, 90)).save(blank, "PNG")
            none = await engine.enrol(blank.getvalue())
            assert none.rejection is Rejection.NO_FACE
        finally:
            await engine.close()
