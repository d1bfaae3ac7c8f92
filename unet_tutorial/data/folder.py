"""A reader's own images: a folder of image/mask pairs, made ready for training (§3).

The layout::

    DIR/images/<name>.png|.tif|.tiff     the images (gray or RGB, 8- or 16-bit)
    DIR/masks/<name>.png|.tif|.tiff      their masks, same <name>, same size

Images follow the course's one rule for files
(:func:`unet_tutorial.predict.read_image`): integers are scaled to [0, 1] by
their dtype's maximum (255, 65535), RGB(A) becomes gray by luminance
(0.2125 R + 0.7154 G + 0.0721 B, alpha ignored).

Masks are read as stored (Pillow for PNG, tifffile for TIFF) and decoded by
:func:`decode_mask`:

- **two gray values** (0/1, 0/255, bool, 1/2, …): the larger value is
  foreground (cell), the smaller background;
- **one value**: foreground when it is not 0 (an all-0 mask is empty);
- **more than two values** in an integer mask (e.g. uint16 ids): **instance
  labels**, 0 = background, every other value one object; the binary training
  target is :func:`unet_tutorial.weights.separation_mask` of them (Fig. 3c), so
  touching objects are separated by background borders, and the weights of
  Eq. 2 see every object on its own;
- **RGB(A)** (alpha ignored): with R = G = B it is a gray mask; otherwise it
  must hold exactly two colours, and the **darker one (by luminance) is
  background**, the brighter one foreground (black/white: white is
  foreground; black/red: red). Two colours less than one gray level apart in
  luminance, or more than two colours, are refused;
- **palette PNG** (mode ``"P"``): with two palette entries used, the same
  darker-is-background rule on their colours; with more, the indices are
  instance labels (index 0 = background);
- **floating-point masks** are refused (threshold a probability map and save
  integers).

With ``classes=K`` (``train --classes K``, ``doctor --classes K``) every mask holds
**class labels** instead: gray or palette-index values ``0..K − 1`` (0 = background),
one class per pixel, and no other rule applies (RGB colours are refused: save the
labels as a gray or palette image).

Files whose name starts with ``.`` and files of other types are ignored (the
``doctor`` command lists the latter). :func:`load_folder` reads everything (as
:class:`~unet_tutorial.data.Samples`, ids = file names),
:func:`folder_train_data` splits it into a :class:`~unet_tutorial.data.TrainData`.
``python -m unet_tutorial doctor DIR`` explains what is wrong with a folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_int, check_positive
from ..image_io import read_pixels
from .samples import Samples
from .training import TrainData

__all__ = [
    "IMAGE_SUFFIXES",
    "FolderPairs",
    "DecodedMask",
    "pair_files",
    "read_raw",
    "decode_mask",
    "read_mask",
    "read_folder_image",
    "load_folder",
    "split_names",
    "folder_train_data",
]

#: File types of the folder layout (lower case; ``.PNG`` counts too).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")

#: Luminance weights of R, G, B (ITU-R BT.709, as :func:`skimage.color.rgb2gray`).
_LUMINANCE = np.array([0.2125, 0.7154, 0.0721])


# --------------------------------------------------------------------------
# Pairing files by name
# --------------------------------------------------------------------------


@dataclass
class FolderPairs:
    """The files of a folder, paired by name.

    Attributes:
        root: the folder ``DIR``.
        pairs: ``(name, image path, mask path)`` for every name in both sub-folders, sorted by name.
        images_only: images without a mask; masks_only: masks without an image.
        ignored: files of other types (not ``.png``/``.tif``/``.tiff``) in ``images/`` or ``masks/``.
    """

    root: Path
    pairs: list[tuple[str, Path, Path]] = field(default_factory=list)
    images_only: list[Path] = field(default_factory=list)
    masks_only: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def _by_name(folder: Path, ignored: list[Path]) -> dict[str, Path]:
    """``name → file`` of the image files in ``folder``; other files go to ``ignored``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}: the layout is DIR/images/<name>.png|tif and "
                                "DIR/masks/<name>.png|tif")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            ignored.append(path)
            continue
        if path.stem in found:
            raise ValueError(f"{found[path.stem]} and {path} have the same name {path.stem!r}: "
                             "keep one file per name")
        found[path.stem] = path
    return found


def pair_files(path: str | os.PathLike[str]) -> FolderPairs:
    """Pair ``DIR/images/<name>.*`` with ``DIR/masks/<name>.*`` by ``<name>`` (nothing is read).

    Raises:
        FileNotFoundError: ``DIR``, ``DIR/images`` or ``DIR/masks`` is missing.
        ValueError: two files of one sub-folder share a name (``a.png`` and ``a.tif``).
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root}")
    out = FolderPairs(root)
    images = _by_name(root / "images", out.ignored)
    masks = _by_name(root / "masks", out.ignored)
    out.pairs = [(n, images[n], masks[n]) for n in sorted(images.keys() & masks.keys())]
    out.images_only = [images[n] for n in sorted(images.keys() - masks.keys())]
    out.masks_only = [masks[n] for n in sorted(masks.keys() - images.keys())]
    return out


# --------------------------------------------------------------------------
# Reading files as stored
# --------------------------------------------------------------------------


#: A file's pixels as stored and its palette: :func:`unet_tutorial.image_io.read_pixels`,
#: the package's one decoder (the name ``doctor`` and chapter 8 use).
read_raw = read_pixels


# --------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------


@dataclass
class DecodedMask:
    """A mask file decoded into the training target.

    Attributes:
        mask: uint8 ``(H, W)``, 1 = foreground (cell), 0 = background; for
            instance labels the separation mask (Fig. 3c).
        instances: int32 ``(H, W)`` ids numbered 1..n (0 = background) when the
            file holds instance labels, else ``None``.
        encoding: ``"binary"`` (0/1 or bool), ``"two-value"`` (two other gray
            values, e.g. 0/255), ``"uniform"`` (one value), ``"rgb"`` (two
            colours), ``"palette"`` (two palette colours) or ``"instances"``.
        note: what became foreground, in words (for messages and the doctor).
    """

    mask: np.ndarray
    instances: np.ndarray | None
    encoding: str
    note: str


def _luminance(colour: np.ndarray) -> float:
    return float(np.dot(np.asarray(colour, dtype=np.float64)[:3], _LUMINANCE))


def _instances(values: np.ndarray, inverse: np.ndarray, shape: tuple[int, ...], what: str) -> DecodedMask:
    """Instance labels from the distinct values of a mask: ids compacted to 1..n, 0 stays background."""
    from ..weights import separation_mask

    ids = (inverse.reshape(shape) + (0 if values[0] == 0 else 1)).astype(np.int32)
    n = int(ids.max())
    return DecodedMask(separation_mask(ids), ids, "instances",
                       f"{what}: {n} instance labels (0 = background); separation borders carved (Fig. 3c)")


def _two_colours(colours: np.ndarray, inverse: np.ndarray, shape: tuple[int, ...], what: str,
                 encoding: str, name: str) -> DecodedMask:
    """The darker (by luminance) of two colours is background, the brighter one foreground."""
    lum = [_luminance(c) for c in colours]
    if abs(lum[0] - lum[1]) < 1.0:  # within one gray level: the rule would hang on rounding
        raise ValueError(f"{name}: its two colours {tuple(int(v) for v in colours[0])} and "
                         f"{tuple(int(v) for v in colours[1])} are equally bright (luminance {lum[0]:.1f} and "
                         f"{lum[1]:.1f}), so the darker-is-background rule cannot tell the foreground; save the "
                         "mask as 0/255 gray")
    fg = int(np.argmax(lum))
    rgb = tuple(int(v) for v in colours[fg][:3])
    bg = tuple(int(v) for v in colours[1 - fg][:3])
    mask = (inverse.reshape(shape) == fg).astype(np.uint8)
    return DecodedMask(mask, None, encoding, f"{what}: colour {rgb} → foreground, the darker {bg} → background")


def _decode_gray(a: np.ndarray, name: str) -> DecodedMask:
    """A 2-D integer or bool mask: binary (one or two values) or instance labels."""
    if a.dtype == bool:
        return DecodedMask(a.astype(np.uint8), None, "binary", "boolean mask: True → foreground")
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise ValueError(f"{name} has negative values (min {a.min()}): masks hold 0/1, 0/255 or ids >= 0")
    values, inverse = np.unique(a, return_inverse=True)
    if len(values) == 1:
        v = int(values[0])
        return DecodedMask(np.full(a.shape, v > 0, np.uint8), None, "uniform",
                           f"one value {v} everywhere: " + ("all foreground" if v > 0 else "all background (empty)"))
    if len(values) == 2:
        lo, hi = int(values[0]), int(values[1])
        encoding = "binary" if (lo, hi) == (0, 1) else "two-value"
        return DecodedMask((a == hi).astype(np.uint8), None, encoding,
                           f"values {lo}/{hi}: {hi} → foreground, {lo} → background")
    return _instances(values, inverse, a.shape, f"{len(values)} values in a {a.dtype} mask")


def _decode_rgb(rgb: np.ndarray, name: str) -> DecodedMask:
    """An ``(H, W, 3)`` colour mask: gray when R = G = B, else exactly two colours."""
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return _decode_gray(rgb[..., 0], name)
    colours, inverse = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
    if len(colours) != 2:
        raise ValueError(f"{name} is an RGB mask with {len(colours)} colours: only two-colour RGB masks can be "
                         "read (darker = background); save binary masks as 0/255 gray, instance labels "
                         "as a 16-bit gray image of ids")
    return _two_colours(colours, inverse, rgb.shape[:2], "RGB mask", "rgb", name)


def _decode_palette(idx: np.ndarray, palette: list[int], name: str) -> DecodedMask:
    """A palette PNG: two used colours → darker is background; more → the indices are instance ids."""
    table = np.zeros((256, 3), dtype=np.int64)
    entries = np.asarray(palette[: 3 * 256], dtype=np.int64)
    table.flat[: len(entries)] = entries
    used, inverse = np.unique(idx, return_inverse=True)
    if len(used) == 2:
        return _two_colours(table[used], inverse, idx.shape, f"palette PNG (indices {used[0]}, {used[1]})",
                            "palette", name)
    if len(used) == 1:
        black = not table[used[0]].any()
        return DecodedMask(np.full(idx.shape, not black, np.uint8), None, "uniform",
                           f"palette PNG with one colour {tuple(int(v) for v in table[used[0]])}: "
                           + ("all background (empty)" if black else "all foreground"))
    return _instances(used, inverse, idx.shape, f"palette PNG with {len(used)} indices (index 0 = background)")


def _decode_classes(a: np.ndarray, classes: int, name: str) -> DecodedMask:
    """Class labels ``0..classes − 1`` of a gray or palette-index mask (``classes=K``; a palette
    PNG's indices are the labels, its colours do not matter)."""
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        if not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])):
            raise ValueError(f"{name} is a colour (RGB) mask, but class masks hold the labels 0..{classes - 1} as "
                             "gray values or palette indices: save the labels as a gray (or palette) image")
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[-1] == 2:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"{name} has shape {a.shape}: a mask must be one 2-D image (H, W)")
    values = np.unique(a)
    bad = values[(values < 0) | (values >= classes)]
    if bad.size:
        hint = " (a 0/255 mask is binary: train without --classes)" if 255 in bad.tolist() else ""
        raise ValueError(f"{name} holds values {bad[:5].tolist()} outside the class labels 0..{classes - 1} "
                         f"of {classes} classes{hint}")
    counts = np.bincount(a.ravel().astype(np.int64), minlength=classes)
    note = "class labels: " + ", ".join(f"{k}: {c} px" for k, c in enumerate(counts.tolist()))
    return DecodedMask(a.astype(np.uint8), None, "classes", note)


def decode_mask(raw: np.ndarray, palette: list[int] | None = None, name: str = "mask",
                classes: int | None = None) -> DecodedMask:
    """Decode the pixels of a mask file (see the module's rules) into a :class:`DecodedMask`.

    Args:
        raw: the file's pixels as stored, ``(H, W)``, ``(H, W, 2)`` (gray + alpha)
            or ``(H, W, 3|4)`` (RGB(A)).
        palette: the flat ``[r, g, b, …]`` palette of a palette PNG (``raw``
            then holds its indices), else ``None``.
        name: the file, for messages.
        classes: ``K``: the mask holds class labels ``0..K − 1`` (see the module's
            rules); ``None``: binary or instance masks.

    Raises:
        ValueError: a float mask, class labels outside ``0..K − 1``, more than two RGB colours, two equally bright
            colours, negative values, or an unusable shape.
    """
    a = np.asarray(raw)
    if a.dtype.kind == "f":
        raise ValueError(f"{name} is a floating-point ({a.dtype}) mask: save masks as integers (0/1, 0/255 or "
                         "instance ids); threshold a probability map first, e.g. (prob > 0.5) * 255")
    if a.dtype.kind not in "biu":
        raise ValueError(f"{name} must hold integer values, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if classes is not None:
        check_int(classes, "classes")
        if classes < 2:
            raise ValueError(f"classes must be >= 2, got {classes}")
        return _decode_classes(a, classes, name)
    if palette is not None and a.ndim == 2:
        return _decode_palette(a, palette, name)
    if a.ndim == 3 and a.shape[-1] == 2:  # gray + alpha: the alpha is ignored
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] in (3, 4):  # RGB(A): the alpha is ignored
        return _decode_rgb(a[..., :3], name)
    if a.ndim != 2:
        raise ValueError(f"{name} has shape {a.shape}: a mask must be one 2-D image (H, W) or RGB (H, W, 3)")
    return _decode_gray(a, name)


def read_mask(path: str | os.PathLike[str], classes: int | None = None) -> DecodedMask:
    """Read and decode one mask file (:func:`read_raw`, :func:`decode_mask`; ``classes`` as there)."""
    raw, palette = read_raw(path)
    return decode_mask(raw, palette, name=f"mask {path}", classes=classes)


# --------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------


def read_folder_image(path: str | os.PathLike[str], in_channels: int = 1) -> np.ndarray:
    """An image file as float32 ``(H, W)`` (``(C, H, W)`` for ``in_channels > 1``), read as ``predict`` reads it."""
    from ..image_io import read_image

    img = read_image(path, in_channels)
    return img[0] if in_channels == 1 else img


def _unpaired_message(found: FolderPairs) -> str:
    lines = [f"{p}: no mask masks/{p.stem}.png|tif" for p in found.images_only]
    lines += [f"{p}: no image images/{p.stem}.png|tif" for p in found.masks_only]
    more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
    return "unpaired files in " + str(found.root) + ": " + "; ".join(lines[:5]) + more


def load_folder(path: str | os.PathLike[str], *, in_channels: int = 1, classes: int | None = None) -> Samples:
    """Read every image/mask pair of ``DIR/images`` and ``DIR/masks``, sorted by name.

    The folder is its own data directory and has nothing to download, so ``path``
    takes the place of the other loaders' ``root`` and there is no ``download``.

    Args:
        path: the folder ``DIR``.
        in_channels: 1 (gray: RGB images converted by luminance) or 3 (RGB kept,
            gray images refused), as :func:`unet_tutorial.predict.read_image`.
        classes: ``K``: the masks hold class labels ``0..K − 1``; ``None``: binary or instance masks.

    Returns:
        :class:`~unet_tutorial.data.Samples` named ``"folder DIR"`` with ``num_classes``
        ``K`` (2 without ``classes``): ``images`` float32 ``(H, W)`` in [0, 1] (``(C, H, W)``
        for ``in_channels > 1``); ``masks`` uint8 ``(H, W)``, the training target (0/1,
        1 = cell; for instance labels their separation mask, Fig. 3c; class labels
        ``0..K − 1`` with ``classes=K``); ``ids`` the file names without their suffix;
        ``instances`` int32 ``(H, W)`` ids ``1..n`` per image when *every* mask file
        holds instance labels, else ``None`` (object scores need them for all images;
        ``detail["encodings"]`` says which files held instance labels). ``detail`` maps
        each id to how its mask was read, ``"encodings"`` and ``"notes"`` (see
        :class:`DecodedMask`), and to its two files, ``"image_paths"`` and ``"mask_paths"``:
        ``samples.detail["encodings"]["a"]``.

    Raises:
        FileNotFoundError: ``DIR``, ``DIR/images`` or ``DIR/masks`` is missing.
        ValueError: no pairs, an image without a mask or a mask without an image,
            an image and mask of different sizes, an unreadable file or a mask
            that cannot be decoded; the message names the file.
    """
    found = pair_files(path)
    if found.images_only or found.masks_only:
        raise ValueError(_unpaired_message(found) + "; run python -m unet_tutorial doctor " + str(found.root))
    if not found.pairs:
        raise ValueError(f"no image/mask pairs in {found.root}: expected DIR/images/<name>.png|tif "
                         "and DIR/masks/<name>.png|tif")
    images, decoded = [], []
    for name, image_path, mask_path in found.pairs:
        image = read_folder_image(image_path, in_channels)
        mask = read_mask(mask_path, classes)
        if image.shape[-2:] != mask.mask.shape:
            raise ValueError(f"image {image_path} is {image.shape[-2]}×{image.shape[-1]} px but its mask "
                             f"{mask_path} is {mask.mask.shape[0]}×{mask.mask.shape[1]} px: they must "
                             "be the same size")
        images.append(image)
        decoded.append(mask)
    every_instance = all(d.instances is not None for d in decoded)
    names = [name for name, _, _ in found.pairs]
    # keyed by id, not by position: Samples.select keeps detail as it is
    detail = {"encodings": {n: d.encoding for n, d in zip(names, decoded)},
              "notes": {n: d.note for n, d in zip(names, decoded)},
              "image_paths": {n: image_path for n, image_path, _ in found.pairs},
              "mask_paths": {n: mask_path for n, _, mask_path in found.pairs}}
    return Samples(tuple(images), tuple(d.mask for d in decoded),
                   tuple(d.instances for d in decoded) if every_instance else None,
                   tuple(names), f"folder {Path(path)}", classes or 2, detail)


# --------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------


def _check_fraction(val_fraction: float) -> float:
    """``val_fraction`` as a float in [0, 1) (a number, not a string or a bool)."""
    if isinstance(val_fraction, (bool, str)) or not isinstance(val_fraction, (int, float, np.number)):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    f = check_positive(val_fraction, "val_fraction", allow_zero=True)
    if f >= 1:
        raise ValueError(f"val_fraction must be in [0, 1) (the fraction of images held out), got {val_fraction!r}")
    return f


def _hash_order(names: list[str], seed: int) -> list[str]:
    """``names`` ordered by the BLAKE2b hash of ``"<seed>/<name>"`` (a fixed, machine-independent shuffle)."""
    return sorted(names, key=lambda n: hashlib.blake2b(f"{seed}/{n}".encode(), digest_size=8).digest())


def _held_out_count(n: int, val_fraction: float) -> int:
    """``round(val_fraction · n)``, at least 1 and at most ``n − 1`` when ``n ≥ 2`` and ``val_fraction > 0``."""
    return 0 if (val_fraction == 0 or n < 2) else min(n - 1, max(1, round(val_fraction * n)))


def split_names(names: list[str], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic ``(train, held_out)`` split of ``names``, each sorted.

    The names are ordered by a hash of ``(seed, name)`` (BLAKE2b) and the first
    ``round(val_fraction · n)`` of that order are held out: at least one, and at
    most ``n − 1``, when ``n ≥ 2`` and ``val_fraction > 0``; none for one image or
    ``val_fraction = 0``. The split depends only on the names and the seed (not on
    file order, file contents or the machine); adding one image changes the
    held-out set by at most one image in and one out.

    Raises:
        ValueError: ``val_fraction`` not in [0, 1), or ``seed`` not an int.
    """
    f = _check_fraction(val_fraction)
    seed = check_int(seed, "seed")
    held = set(_hash_order(list(names), seed)[: _held_out_count(len(names), f)])
    return sorted(set(names) - held), sorted(held)


def folder_train_data(path: str | os.PathLike[str], *, val_fraction: float = 0.2, seed: int = 0,
                      classes: int | None = None) -> TrainData:
    """A :class:`~unet_tutorial.data.TrainData` from a folder (:func:`load_folder`, gray images).

    Held out: ``round(val_fraction · n)`` images as :func:`split_names` counts
    them, taken in its hash order from the images whose mask has a foreground
    pixel (the validation metrics are undefined on an empty mask; images with
    empty masks are always trained on). Labels are the binary masks, or the
    separation masks (Fig. 3c) of instance labels, or with ``classes=K`` the class labels
    ``0..K − 1`` (held out only among images with a pixel of a class other than 0).

    Raises:
        ValueError: a bad ``val_fraction``/``seed``, or anything :func:`load_folder` raises.
        FileNotFoundError: a missing folder.
    """
    f = _check_fraction(val_fraction)
    seed = check_int(seed, "seed")
    samples = load_folder(path, classes=classes)
    candidates = [name for name, mask in zip(samples.ids, samples.masks) if mask.any()]
    held = set(_hash_order(candidates, seed)[: _held_out_count(len(samples), f)])
    train = samples.select([name for name in samples.ids if name not in held])
    val = samples.select([name for name in samples.ids if name in held])
    return TrainData(list(train.images), list(train.masks), list(val.images), list(val.masks), name=samples.name,
                     num_classes=samples.num_classes)
