"""The pixel work of semantic segmentation (segmentation.py has the rules): worker PNGs decoded to class
masks, the vote and its smoothing, the consolidated PNG. The one groundtruth module that imports Pillow and
numpy (the `segmentation` extra; tests/domain/test_layering.py PURE_EXTRAS), and only inside its functions,
so that the package loads without them.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Mask = NDArray[np.uint16]  # class index per pixel, (height, width)


def decode(png: bytes, colors: dict[int, int], size: tuple[int, int] | None) -> Mask | None:
    """The class mask of a PNG at `size` (width, height; None: its own), or None when it does not decode."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png)) as image:
            rgba = image.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    if size is not None and rgba.size != size:
        rgba = rgba.resize(size, Image.Resampling.NEAREST)
    pixels = np.asarray(rgba, dtype=np.uint32)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    opaque = pixels[..., 3] >= 128
    mask = np.zeros(packed.shape, dtype=np.uint16)
    for rgb, cls in colors.items():
        mask[(packed == rgb) & opaque] = cls
    return mask


def vote(masks: list[Mask]) -> tuple[Mask, float]:
    """The consolidated mask and the confidence (segmentation.py's docstring): per-pixel majority, then
    with several workers a 3x3 mode filter; ties to the lower class."""
    import numpy as np

    classes = np.unique(np.stack(masks))  # sorted: argmax's first maximum is the lower class
    votes = np.zeros((len(classes), *masks[0].shape), dtype=np.uint8)
    for k, cls in enumerate(classes):
        for mask in masks:
            votes[k] += mask == cls
    winner = votes.argmax(axis=0)
    if len(masks) > 1:
        height, width = winner.shape
        padded = np.pad(winner[None] == np.arange(len(classes))[:, None, None], ((0, 0), (1, 1), (1, 1)))
        around = np.zeros(votes.shape, dtype=np.uint8)
        for dy in range(3):
            for dx in range(3):
                around += padded[:, dy : dy + height, dx : dx + width]
        winner = around.argmax(axis=0)
    agreeing = np.take_along_axis(votes, winner[None], axis=0)
    confidence = 0.0 if len(masks) == 1 else float(agreeing.sum()) / (len(masks) * winner.size)
    return classes[winner].astype(np.uint16), confidence


def encode(mask: Mask, colors: list[str]) -> bytes:
    """A palette PNG (pixel value = class index, palette = `colors`); RGB above 256 classes."""
    import numpy as np
    from PIL import Image

    rgb = [bytes.fromhex(c[1:]) for c in colors]
    if len(colors) <= 256:
        image = Image.fromarray(mask.astype(np.uint8)).convert("P")
        image.putpalette(b"".join(rgb))
    else:
        image = Image.fromarray(np.frombuffer(b"".join(rgb), dtype=np.uint8).reshape(-1, 3)[mask])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def same(mask: Mask, other: Mask) -> bool:
    import numpy as np

    return bool(np.array_equal(mask, other))
