"""Semantic segmentation (SemanticSegmentation) and its adjustment (AdjustmentSemanticSegmentation) — spec §8.2,
§8.3. Needs the `segmentation` extra (Pillow, numpy), which only masks.py imports (the pixel work), inside
its functions: the package loads without it, and `available()` tells CreateLabelingJob whether it is there.

Answer: the first object value of answerContent with `labeledImage.pngImageData` (crowd-semantic-segmentation:
`{"inputImageProperties": {"height", "width"}, "labelMappings": {"<label>": {"color": "#rrggbb"}},
"labeledImage": {"pngImageData": "<base64 PNG>"}}`). Classes: 0 = BACKGROUND, label i of the label file =
i + 1. A pixel has class i + 1 when it is opaque (alpha >= 128) in the colour the worker's labelMappings give
label i; anything else (transparent, an unmapped colour, a label not in the file) is background. Masks are
compared at the size of the first counted answer's inputImageProperties (else its PNG's size); a PNG of another
size is resized to it, nearest neighbour. An answer whose PNG does not decode is not counted.

Consolidation: per-pixel majority vote of the N counted workers (ties to the lower class), then, with N >= 2,
a 3x3 mode filter over the voted map — the docs' "smoothing function" (neighbours outside the image do not
count; ties to the lower class). One worker's mask is kept as painted. `confidence`: one value for the image,
written for every class ("the same across all classes"): the mean over pixels of the share of workers whose
mask has the final class there, unrounded as in the real sample (0.8054600000000001); 0.0 with one worker
(spec §8.1).

Output: the PNG `<datasetObjectId>_<creation-date>.png` in `Consolidated.files` (a palette PNG: pixel value =
class index, palette entry = class colour; RGB above 256 classes), the label its S3 URI (`output_prefix` +
name). `internal-color-map` lists BACKGROUND `#ffffff` and every label of the file. A label's colour: the one
most of its workers' labelMappings gave it (first seen on ties); else, or when that colour is taken, the next
free colour of PALETTE — matplotlib's tab10 in order, then golden-angle hues: the colours crowdloop's
crowd-semantic-segmentation gives labels 1, 2, ... (AWS's sample shows #2ca02c, tab10's third, for its first
label). Workers' colours win, so the palette only decides for labels nobody painted.

Adjustment: plus `adjustment-status` (last key): "adjusted" when a worker's class mask differs from the
previous job's mask. That mask is a PNG in S3 named by the line's previous `-ref` attribute (`previous_ref`),
which this package cannot read: the caller passes its bytes (`previous_masks`), decoded with the previous
metadata's internal-color-map (class names matched to this job's labels). Without those bytes, an answer's
`initialValueModified` decides (what the worker started from, as the element reports it); without that
either, any painted pixel counts as an adjustment.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import itertools
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crowdloop.errors import InvalidInput
from crowdloop.groundtruth import masks as pixels
from crowdloop.groundtruth.model import Consolidated, DataObject, Job
from crowdloop.groundtruth.tasktypes import TaskType

if TYPE_CHECKING:
    from crowdloop.groundtruth.masks import Mask

TASK_TYPES = frozenset({TaskType.SEMANTIC_SEGMENTATION, TaskType.ADJUSTMENT_SEMANTIC_SEGMENTATION})  # need the extra
BACKGROUND = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
HEX = frozenset("0123456789abcdefABCDEF")
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
MISSING_EXTRA = (
    "Semantic segmentation jobs need crowdloop[segmentation] (Pillow and numpy): install it with "
    "pip install 'crowdloop[segmentation]' and restart the server."
)


def available() -> bool:
    """Whether Pillow and numpy can be imported (the `segmentation` extra is installed)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("PIL", "numpy"))
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def palette_color(k: int) -> str:
    """The k-th colour of crowdloop's crowd elements (01-values.js `distinctColor`): tab10, then hues."""
    if k < len(TAB10):
        return TAB10[k]
    hue = ((k - len(TAB10)) * 137.508 + 20) % 360
    light = (0.45, 0.6, 0.35)[(k - len(TAB10)) // 12 % 3]
    c = (1 - abs(2 * light - 1)) * 0.7
    x, m = c * (1 - abs((hue / 60) % 2 - 1)), light - c / 2
    rgb = [(c, x, 0.0), (x, c, 0.0), (0.0, c, x), (0.0, x, c), (x, 0.0, c), (c, 0.0, x)][int(hue // 60)]
    return "#" + "".join(f"{int((v + m) * 255 + 0.5):02x}" for v in rgb)


def answer_of(content: dict[str, Any]) -> dict[str, Any] | None:
    for value in content.values():
        if isinstance(value, dict):
            image = value.get("labeledImage")
            if isinstance(image, dict) and isinstance(image.get("pngImageData"), str):
                return value
    return None


def previous_ref(line: dict[str, Any], label_attribute_name: str) -> str | None:
    """The line key holding the previous segmentation label: the first `*-ref` key other than this job's whose
    value is a string and whose `-metadata` has an `internal-color-map`; None when there is none."""
    for key, value in line.items():
        metadata = line.get(f"{key}-metadata")
        if (
            key != label_attribute_name
            and key.endswith("-ref")
            and isinstance(value, str)
            and isinstance(metadata, dict)
            and isinstance(metadata.get("internal-color-map"), dict)
        ):
            return key
    return None


def initial_value(line: dict[str, Any], label_attribute_name: str) -> dict[str, Any] | None:
    """What crowd-semantic-segmentation's `initial-value` wants for the previous label: `{"src": <its S3 URI>,
    "labelMappings": {"<label>": {"color"}}}` (the template passes src through grant_read_access)."""
    key = previous_ref(line, label_attribute_name)
    if key is None:
        return None
    entries = line[f"{key}-metadata"]["internal-color-map"].values()
    mappings = {
        str(e["class-name"]): {"color": _hex(e.get("hex-color"))}
        for e in entries
        if isinstance(e, dict) and e.get("class-name") not in (None, BACKGROUND) and _hex(e.get("hex-color"))
    }
    return {"src": line[key], "labelMappings": mappings}


def _hex(value: Any) -> str | None:
    """A `#rrggbb` colour, lower-cased; None for anything else."""
    if isinstance(value, str) and len(value) == 7 and value[0] == "#" and all(c in HEX for c in value[1:]):
        return value.lower()
    return None


def _color_classes(job: Job, mappings: Any) -> dict[int, int]:
    """RGB integer -> class, from `{"<label>": {"color": "#rrggbb"}}` (first label wins a shared colour)."""
    found: dict[int, int] = {}
    for label, mapping in (mappings if isinstance(mappings, dict) else {}).items():
        index, color = job.index_of(label), _hex(mapping.get("color")) if isinstance(mapping, dict) else None
        if index is not None and color is not None:
            found.setdefault(int(color[1:], 16), index + 1)
    return found


def _size(answer: dict[str, Any]) -> tuple[int, int] | None:
    """(width, height) of the answer's inputImageProperties, None unless both are sensible integers."""
    props = answer.get("inputImageProperties")
    if not isinstance(props, dict):
        return None
    width, height = props.get("width"), props.get("height")
    if isinstance(width, int) and isinstance(height, int) and 0 < width <= 100_000 and 0 < height <= 100_000:
        return width, height
    return None


def _colors(job: Job, answers: list[dict[str, Any]]) -> list[str]:
    """Each class's colour, BACKGROUND first (module docstring)."""
    chosen = [BACKGROUND_COLOR]
    for label in job.labels:
        given = Counter(
            _hex(m[label].get("color"))
            for m in (a.get("labelMappings") for a in answers)
            if isinstance(m, dict) and isinstance(m.get(label), dict)
        )
        free = (c for c, _ in given.most_common() if c is not None and c not in chosen)
        chosen.append(next(free, None) or next(c for c in map(palette_color, itertools.count()) if c not in chosen))
    return chosen


def semantic_segmentation(
    job: Job,
    objects: list[DataObject],
    output_type: str,
    *,
    output_prefix: str,
    adjustment: bool,
    previous_masks: Mapping[str, bytes] | None = None,
) -> dict[str, Consolidated]:
    if not available():
        raise InvalidInput(MISSING_EXTRA, "humanTaskConfig.preHumanTaskLambdaArn")
    results = {}
    for obj in objects:
        answers, masks, size = [], [], None
        for annotation in obj.annotations:
            answer = answer_of(annotation.content)
            if answer is None:
                continue
            try:
                png = base64.b64decode(answer["labeledImage"]["pngImageData"], validate=True)
            except (binascii.Error, ValueError):
                continue
            mask = pixels.decode(png, _color_classes(job, answer.get("labelMappings")), size or _size(answer))
            if mask is not None:
                size = size or (mask.shape[1], mask.shape[0])
                answers.append(answer)
                masks.append(mask)
        if not masks:
            continue
        mask, confidence = pixels.vote(masks)
        colors = _colors(job, answers)
        names = [BACKGROUND, *job.labels]
        name = f"{obj.dataset_object_id}_{job.date}.png"
        metadata: dict[str, Any] = {
            "internal-color-map": {
                str(k): {"class-name": names[k], "hex-color": colors[k], "confidence": confidence}
                for k in range(len(names))
            },
            "type": output_type,
            "human-annotated": "yes",
            "creation-date": job.date,
            "job-name": job.job_ref,
        }
        if adjustment:
            metadata["adjustment-status"] = (
                "adjusted" if _adjusted(job, obj, answers, masks, previous_masks) else "unadjusted"
            )
        content = {job.label_attribute_name: output_prefix + name, job.metadata_key: metadata}
        results[obj.dataset_object_id] = Consolidated(content, {name: pixels.encode(mask, colors)})
    return results


def _adjusted(
    job: Job, obj: DataObject, answers: list[dict[str, Any]], masks: list[Mask], previous: Mapping[str, bytes] | None
) -> bool:
    key = previous_ref(obj.line, job.label_attribute_name)
    png = (previous or {}).get(obj.dataset_object_id)
    if key is not None and png is not None:
        entries = [e for e in obj.line[f"{key}-metadata"]["internal-color-map"].values() if isinstance(e, dict)]
        colors = _color_classes(job, {e.get("class-name"): {"color": e.get("hex-color")} for e in entries})
        before = pixels.decode(png, colors, (masks[0].shape[1], masks[0].shape[0]))
        if before is not None:
            return any(not pixels.same(mask, before) for mask in masks)
    flags = [a.get("initialValueModified") for a in answers]
    if any(isinstance(flag, bool) for flag in flags):
        return any(flag is True for flag in flags)
    return any(bool(mask.any()) for mask in masks)
