"""Writing the files of a reader's folder (``images/`` + ``masks/``) for the folder and doctor tests.

Plain helpers, not tests: every mask encoding a reader may have (0/1, 0/255, palette,
RGB, 16-bit, instance labels) written with Pillow/tifffile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from unet_tutorial.data.synthetic import synthetic_em

def write(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as PNG (Pillow) or TIFF (tifffile), as stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, array)
    else:
        Image.fromarray(array).save(path)
    return path


def write_palette(path: Path, indices: np.ndarray, palette: list[int]) -> Path:
    """A palette PNG (mode "P") holding ``indices`` with the colours ``palette``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = indices.shape
    im = Image.frombytes("P", (w, h), indices.astype(np.uint8).tobytes())
    im.putpalette(palette)
    im.save(path)
    return path


def cells(h: int = 40, w: int = 48) -> np.ndarray:
    """A binary 0/1 mask with two separated rectangles."""
    m = np.zeros((h, w), np.uint8)
    m[5:18, 4:20] = 1
    m[22:35, 25:44] = 1
    return m


def make_folder(root: Path, n: int = 3, size: int = 64) -> Path:
    """``n`` synthetic EM-like pairs: 8-bit gray PNG images, 0/255 PNG masks."""
    for i in range(n):
        image, label = synthetic_em((size, size), n_cells=6, seed=i)
        write(root / "images" / f"img{i}.png", (image * 255).astype(np.uint8))
        write(root / "masks" / f"img{i}.png", (label * 255).astype(np.uint8))
    return root


def one_pair(root: Path, mask_writer, image: np.ndarray | None = None, name: str = "a") -> Path:
    """A folder with one image (gray noise unless given) and the mask ``mask_writer(path)`` writes."""
    image = np.random.default_rng(0).integers(0, 256, (40, 48), dtype=np.uint8) if image is None else image
    write(root / "images" / f"{name}.png", image)
    mask_writer(root / "masks")
    return root


# --------------------------------------------------------------------------
# Mask encodings
# --------------------------------------------------------------------------

M = cells()
RED, BLACK, WHITE, BLUE = (255, 0, 0), (0, 0, 0), (255, 255, 255), (0, 0, 255)


def rgb(mask: np.ndarray, fg: tuple[int, int, int], bg: tuple[int, int, int], alpha: bool = False) -> np.ndarray:
    out = np.where(mask[..., None] == 1, np.array(fg, np.uint8), np.array(bg, np.uint8))
    return np.concatenate([out, np.full(mask.shape + (1,), 255, np.uint8)], axis=-1) if alpha else out




def touching_ids() -> np.ndarray:
    ids = np.zeros((40, 48), np.uint16)
    ids[5:20, 5:20] = 7
    ids[5:20, 20:35] = 300  # touches 7 along an edge
    ids[25:35, 5:15] = 9
    return ids
