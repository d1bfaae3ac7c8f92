"""Tests of the overlap-tile inference (unet_tutorial.inference; paper §1, §2, Fig. 2, §4).

All images are synthetic (random noise or constants), all networks tiny and
untrained (He initialisation): what is tested is the tiling arithmetic, not
segmentation quality.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unet_tutorial.inference import (
    DIHEDRAL,
    choose_tile_size,
    dihedral,
    dihedral_inverse,
    memory_budget,
    min_tile_size,
    mirror_pad,
    plan_tiles,
    predict_tiled,
    segment,
    tile_memory_bytes,
)
from unet_tutorial.mirror import mirror_indices
from unet_tutorial.hardware import select_device
from unet_tutorial.model import UNet

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def make_unet(depth: int = 3, in_channels: int = 1, padding: str = "valid", seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    return UNet(in_channels=in_channels, base_channels=4, depth=depth, padding=padding, dropout=0.5).eval()


def noise(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def whole_image_probs(model: UNet, image: np.ndarray) -> np.ndarray:
    """One forward pass over the whole image, mirror-padded by ``border`` (+ extra
    mirrored pixels bottom/right up to a valid size) with numpy's own reflect
    padding, cropped back: the reference the tiled prediction must equal."""
    img = image if image.ndim == 3 else image[None]
    _, h, w = img.shape
    b = model.border
    hs, ws = model.input_size_for(h), model.input_size_for(w)
    padded = np.pad(img, ((0, 0), (b, hs - h - b), (b, ws - w - b)), mode="reflect")
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(padded))[None])
    return torch.softmax(logits, 1)[0, :, :h, :w].numpy()


class Pointwise(nn.Module):
    """A per-pixel model (1×1 convolution): equivariant to every flip/rotation."""

    def __init__(self, padding: str = "valid", depth: int = 0) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(1, 2, 1)
        self.border, self.padding, self.depth, self.in_channels = 0, padding, depth, 1

    def output_size(self, n: int) -> int:
        if n < 1 or n % 2**self.depth:
            raise ValueError(f"size {n} not a multiple of {2**self.depth}")
        return n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.sin(3 * x))


class Conv3(nn.Module):
    """One unpadded 3×3 convolution (border 1); ``symmetric`` makes the kernel D4-invariant."""

    def __init__(self, symmetric: bool) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv2d(1, 2, 3)
        if symmetric:
            with torch.no_grad():
                k = self.conv.weight
                k.copy_((k + k.flip(-1) + k.flip(-2) + k.flip(-1, -2)) / 4)
                k.copy_((k + k.transpose(-1, -2)) / 2)
        self.border, self.padding, self.depth, self.in_channels = 1, "valid", 0, 1

    def output_size(self, n: int) -> int:
        if n < 3:
            raise ValueError("tile too small")
        return n - 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 5 * self.conv(x)


# --------------------------------------------------------------------------
# Mirroring
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 37])
@pytest.mark.parametrize("before,after", [(0, 0), (3, 1), (4, 9), (92, 120)])
def test_mirror_indices_match_numpy_reflect(n: int, before: int, after: int) -> None:
    x = np.arange(n) * 10
    assert np.array_equal(x[mirror_indices(n, before, after)], np.pad(x, (before, after), mode="reflect"))


def test_mirror_pad_numpy_and_torch_match_numpy_reflect() -> None:
    img = noise(3, 5, 7)
    ref = np.pad(img, ((0, 0), (92, 95), (92, 93)), mode="reflect")
    assert np.array_equal(mirror_pad(img, 92, 95, 92, 93), ref)
    assert np.array_equal(mirror_pad(torch.from_numpy(img), 92, 95, 92, 93).numpy(), ref)


def test_mirror_indices_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        mirror_indices(0, 1, 1)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        mirror_indices(4, -1, 0)


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------


@pytest.mark.parametrize("depth,padding,blend", [(2, "valid", True), (4, "valid", True), (2, "same", True), (2, "same", False)])
def test_plan_covers_image_without_gaps_and_follows_pooling_grid(depth: int, padding: str, blend: bool) -> None:
    model = make_unet(depth=depth, padding=padding)
    period = 2**depth
    rng = np.random.default_rng(3)
    sizes = [model.valid_input_sizes(start=min_tile_size(model, blend=blend), stop=600)[i] for i in (0, 3, 10)]
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, 700, size=2))
        for s in sizes:
            plan = plan_tiles(model, h, w, s, blend=blend)
            assert plan.stride % period == 0 and plan.stride > 0
            for origins, n, canvas, pad_before, pad_after, crop in (
                (plan.ys, h, plan.canvas[0], plan.pad[0], plan.pad[1], plan.crop[0]),
                (plan.xs, w, plan.canvas[1], plan.pad[2], plan.pad[3], plan.crop[1]),
            ):
                covered = np.zeros(canvas, bool)
                for o in origins:
                    covered[o : o + plan.out_size] = True
                    assert o + plan.tile_size <= pad_before + n + pad_after  # input window inside the padding
                assert covered[crop : crop + n].all()
                assert all(o % period == 0 for o in origins)


# --------------------------------------------------------------------------
# Exactness of the valid network: tiled == one pass over the whole image
# --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("height,width", [(37, 53), (200, 301), (513, 512)])
def test_tiled_equals_one_pass_over_whole_mirrored_image(depth: int, height: int, width: int) -> None:
    model = make_unet(depth=depth)
    image = noise(height, width, seed=height)
    whole = whole_image_probs(model, image)
    n = max(height, width)
    # A small tile (many tiles), a middle one, and one covering the whole image.
    small = model.input_size_for(max(n // 4, 8))
    for tile in sorted({small, model.input_size_for(n // 2 + 3), model.input_size_for(n)}):
        probs = predict_tiled(model, image, tile_size=tile)
        assert probs.shape == (2, height, width) and probs.dtype == np.float32
        assert np.abs(probs - whole).max() <= 1e-5, f"tile size {tile}"


@pytest.mark.parametrize("depth", [3, 4])
@pytest.mark.parametrize("height,width", [(5, 7), (1, 1), (1, 9), (5, 5)])
def test_images_smaller_than_the_border(depth: int, height: int, width: int) -> None:
    model = make_unet(depth=depth)
    assert model.border > max(height, width)  # the mirror padding repeats the reflection
    image = noise(height, width, seed=7)
    probs = predict_tiled(model, image, tile_size=min_tile_size(model))
    assert probs.shape == (2, height, width)
    assert np.allclose(probs.sum(0), 1, atol=1e-6)
    assert np.abs(probs - whole_image_probs(model, image)).max() <= 1e-5


def test_multichannel_input() -> None:
    model = make_unet(depth=2, in_channels=3)
    image = noise(3, 61, 45)
    probs = predict_tiled(model, image, tile_size=model.input_size_for(24))
    assert probs.shape == (2, 61, 45)
    assert np.abs(probs - whole_image_probs(model, image)).max() <= 1e-5


def test_torch_numpy_and_integer_inputs_agree() -> None:
    """Integer images are scaled by their dtype's maximum, as read_image and the CLI scale them."""
    model = make_unet(depth=2)
    image = (noise(40, 50) * 255).astype(np.uint8)
    as_float = predict_tiled(model, image.astype(np.float32) / np.float32(255), tile_size=64)
    assert np.array_equal(predict_tiled(model, image, tile_size=64), as_float)  # uint8 / 255
    assert np.array_equal(predict_tiled(model, torch.from_numpy(image)[None], tile_size=64), as_float)
    assert np.array_equal(predict_tiled(model, torch.from_numpy(image.astype(np.float32)) / 255, tile_size=64), as_float)
    wide = image.astype(np.uint16) * 257  # the same gray values in 16 bits: 255 * 257 = 65535
    assert np.abs(predict_tiled(model, wide, tile_size=64) - as_float).max() < 1e-5
    with pytest.raises(ValueError, match="negative values"):
        predict_tiled(model, image.astype(np.int16) - 10, tile_size=64)


def test_batch_size_and_memory_layout_do_not_change_the_result() -> None:
    model = make_unet(depth=2)
    image = noise(50, 40)
    ref = predict_tiled(model, image, tile_size=52, batch_size=1, channels_last=False)
    assert plan_tiles(model, 50, 40, 52).num_tiles > 7
    assert np.abs(predict_tiled(model, image, tile_size=52, batch_size=7) - ref).max() <= 1e-5
    assert np.abs(predict_tiled(model, image, tile_size=52, channels_last=True, progress=True) - ref).max() <= 1e-5


def test_model_left_as_it_was() -> None:
    """Eval mode during prediction (drop-out off), training mode and parameters restored after."""
    model = make_unet(depth=2).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    image = noise(30, 30)
    probs = predict_tiled(model, image, tile_size=52)
    assert model.training
    assert all(torch.equal(v, before[k]) and v.is_contiguous() for k, v in model.state_dict().items())
    assert np.abs(probs - whole_image_probs(model, image)).max() <= 1e-5  # drop-out was off


def test_amp_close_to_float32() -> None:
    model = make_unet(depth=2)
    image = noise(40, 40)
    probs = predict_tiled(model, image, tile_size=64, amp=True)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(0), 1, atol=1e-5)
    assert np.abs(probs - predict_tiled(model, image, tile_size=64)).mean() < 0.05


# --------------------------------------------------------------------------
# Test-time augmentation (§4: averaged over 7 rotated versions + the original)
# --------------------------------------------------------------------------


def test_dihedral_transforms_are_the_8_symmetries_and_invert() -> None:
    x = torch.arange(12.0).reshape(1, 3, 4)
    images = {tuple(dihedral(x, k, f).flatten().tolist()) + tuple(dihedral(x, k, f).shape) for k, f in DIHEDRAL}
    assert len(DIHEDRAL) == 8 and len(images) == 8
    for k, f in DIHEDRAL:
        assert torch.equal(dihedral_inverse(dihedral(x, k, f), k, f), x)


@pytest.mark.parametrize("model", [Pointwise(), Conv3(symmetric=True)], ids=["pointwise", "isotropic-conv"])
def test_tta_of_an_equivariant_model_changes_nothing(model: nn.Module) -> None:
    image = noise(23, 31)  # not square: rotated copies have another shape
    plain = predict_tiled(model, image, tile_size=10)
    assert np.abs(predict_tiled(model, image, tile_size=10, tta=True) - plain).max() <= 1e-6


def test_tta_is_the_average_of_the_8_mapped_back_predictions() -> None:
    model = Conv3(symmetric=False)
    image = noise(23, 31)
    manual = []
    for k in range(4):
        for flip in (False, True):
            t = np.rot90(image, k)
            t = t[:, ::-1] if flip else t
            p = predict_tiled(model, np.ascontiguousarray(t), tile_size=10)
            p = p[:, :, ::-1] if flip else p
            manual.append(np.rot90(p, -k, axes=(1, 2)))
    tta = predict_tiled(model, image, tile_size=10, tta=True)
    assert np.abs(tta - np.mean(manual, axis=0)).max() <= 1e-6
    assert np.abs(tta - predict_tiled(model, image, tile_size=10)).max() > 1e-2  # the model is not equivariant


def test_tta_with_a_unet_on_a_non_square_image() -> None:
    model = make_unet(depth=2)
    probs = predict_tiled(model, noise(37, 20), tile_size=52, tta=True)
    assert probs.shape == (2, 37, 20) and np.allclose(probs.sum(0), 1, atol=1e-6)


# --------------------------------------------------------------------------
# "Same"-padded networks: blending of overlapping tiles
# --------------------------------------------------------------------------


@pytest.mark.parametrize("blend", [True, False])
def test_blending_weights_sum_to_one_everywhere(blend: bool) -> None:
    """With a per-pixel model every tile agrees, so any weighting error would show."""
    model = Pointwise(padding="same", depth=2)
    image = noise(45, 70)
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(image)[None, None]), 1)[0].numpy()
    assert np.abs(predict_tiled(model, image, tile_size=16, blend=blend) - ref).max() <= 1e-6


def test_blending_hides_the_seams_of_a_same_padded_unet() -> None:
    model = make_unet(depth=2, padding="same", seed=0)
    image = np.full((200, 230), 0.5, np.float32)  # constant: every structure in the output is an artefact
    # Reference: one pass over the whole image, mirror-padded far beyond the receptive field
    # (by multiples of 2**depth, so the pooling grid lines up with the tiles').
    padded = mirror_pad(image, 40, 40, 40, 42)
    with torch.no_grad():
        whole = torch.softmax(model(torch.from_numpy(np.ascontiguousarray(padded))[None, None]), 1)[0]
    whole = whole[:, 40:240, 40:270].numpy()
    plain = np.abs(predict_tiled(model, image, tile_size=128, blend=False) - whole)
    blended = np.abs(predict_tiled(model, image, tile_size=128, blend=True) - whole)
    assert plain[:, 30:100, 30:100].max() < 1e-5  # tile interiors are right ...
    assert plain[:, :, 120:136].max() > 0.05  # ... the plain tiles are wrong at their seams
    assert blended.max() < 0.5 * plain.max()
    assert blended.mean() < 0.3 * plain.mean()


def test_same_padded_tile_too_small_to_blend() -> None:
    model = make_unet(depth=2, padding="same")
    with pytest.raises(ValueError, match="too small to blend"):
        predict_tiled(model, noise(20, 20), tile_size=4)
    assert predict_tiled(model, noise(20, 20), tile_size=4, blend=False).shape == (2, 20, 20)


# --------------------------------------------------------------------------
# Automatic tile size
# --------------------------------------------------------------------------


def test_tile_memory_is_the_traced_feature_maps() -> None:
    for model in (make_unet(depth=4), make_unet(depth=2, padding="same", in_channels=3)):
        for s in model.valid_input_sizes(start=min_tile_size(model), stop=700)[::9]:
            maps = sum(r.channels * r.height * r.width for r in model.trace(s))
            assert tile_memory_bytes(model, s) == 2 * 4 * maps  # float32, safety factor 2


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_choose_tile_size_is_valid_and_fits(padding: str) -> None:
    model = make_unet(depth=4, padding=padding)
    for shape in [(5, 7), (3, 1100, 700), (100, 2000)]:
        for memory in (1, 16 * 1024**2, 2**40):
            s = choose_tile_size(model, shape, memory_bytes=memory)
            assert model.is_valid_input_size(s)
            plan = plan_tiles(model, shape[-2], shape[-1], s)  # usable: no ValueError
            if s > min_tile_size(model):
                assert tile_memory_bytes(model, s) <= memory
            if memory == 2**40:  # unlimited: near the least compute of all sizes up to one whole tile
                one_tile = next(
                    t for t in model.valid_input_sizes(start=min_tile_size(model), stop=10**5)
                    if plan_tiles(model, shape[-2], shape[-1], t).num_tiles == 1
                )
                assert s <= one_tile
                costs = [
                    plan_tiles(model, shape[-2], shape[-1], t).num_tiles * t * t
                    for t in model.valid_input_sizes(start=min_tile_size(model), stop=one_tile)
                ]
                assert plan.num_tiles * s * s <= 1.05 * min(costs)
        assert choose_tile_size(model, shape, memory_bytes=1) == min_tile_size(model)


def test_automatic_tile_size_in_predict_and_default_budget() -> None:
    model = make_unet(depth=2)
    assert memory_budget("cpu") > 0
    image = noise(70, 90)
    assert np.abs(predict_tiled(model, image) - whole_image_probs(model, image)).max() <= 1e-5


def test_select_device() -> None:
    from unet_tutorial.hardware import mps_available

    expected = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    assert select_device().type == expected


# --------------------------------------------------------------------------
# segment
# --------------------------------------------------------------------------


def test_segment_thresholds_the_foreground_probability() -> None:
    model = make_unet(depth=2)
    image = noise(30, 40)
    probs = predict_tiled(model, image, tile_size=52)
    for t in (0.2, 0.5, 0.9):
        mask = segment(model, image, threshold=t, tile_size=52)
        assert mask.dtype == bool and np.array_equal(mask, probs[1] > t)
    with pytest.raises(ValueError, match="threshold"):
        segment(model, image, threshold=1.5)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image,match",
    [
        (np.zeros(10, np.float32), "2-D"),
        (np.zeros((1, 1, 10, 10), np.float32), "2-D"),
        (np.zeros((0, 10), np.float32), "empty"),
        (np.zeros((10, 0), np.float32), "empty"),
        (np.array([[0.0, np.nan], [0.0, 0.0]], np.float32), "NaN"),
        (np.array([[0.0, np.inf], [0.0, 0.0]]), "infinite"),
        (np.zeros((2, 10, 10), np.float32), "1 input channel"),
        (np.zeros((10, 10, 1), np.float32), "channels-last"),
        (np.zeros((10, 10), bool), "dtype bool"),
        (np.zeros((10, 10), np.complex64), "dtype complex64"),
        (np.array([["a", "b"]]), "dtype"),
        ("an image", "numpy array or torch tensor"),
        (torch.zeros(10, 10, dtype=torch.bool), "dtype torch.bool"),
    ],
)
def test_bad_images_raise(image, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        predict_tiled(make_unet(depth=2), image, tile_size=52)


def test_gray_image_for_a_three_channel_model_raises() -> None:
    with pytest.raises(ValueError, match="expects 3 input channel"):
        predict_tiled(make_unet(depth=2, in_channels=3), noise(10, 10), tile_size=52)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"tile_size": 50}, "nearest valid sizes: 48 or 52"),
        ({"tile_size": 52.0}, "must be an int"),
        ({"tile_size": 52, "batch_size": 0}, "batch_size"),
        ({"tile_size": 52, "tta": "yes"}, "tta"),
        ({"tile_size": 52, "overlap": 0.9}, "overlap"),
        ({"tile_size": 52, "device": "nonsense"}, "not a valid torch device"),
    ],
)
def test_bad_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        predict_tiled(make_unet(depth=2), noise(10, 10), **kwargs)


def test_tile_whose_output_is_smaller_than_the_pooling_period() -> None:
    model = make_unet(depth=4)  # 188 px -> 4 px of output, less than 2**4 = 16
    assert model.output_size(188) == 4
    with pytest.raises(ValueError, match="smaller than the pooling period.*at least 204"):
        predict_tiled(model, noise(10, 10), tile_size=188)


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message shown when CUDA is missing")
def test_cuda_requested_without_cuda() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        predict_tiled(make_unet(depth=2), noise(10, 10), tile_size=52, device="cuda")


def test_not_a_model_or_one_class_model_raises() -> None:
    with pytest.raises(ValueError, match="torch.nn.Module"):
        predict_tiled("model", noise(10, 10), tile_size=52)
    with pytest.raises(ValueError, match="output_size"):
        predict_tiled(nn.Conv2d(1, 2, 1), noise(10, 10), tile_size=52)
    one = UNet(base_channels=2, depth=2, num_classes=1)
    with pytest.raises(ValueError, match=">= 2 classes"):
        predict_tiled(one, noise(10, 10), tile_size=52)


# --------------------------------------------------------------------------
# Fig. 2: tile boxes and the drawing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("padding,blend", [("valid", True), ("same", True), ("same", False)])
def test_tile_boxes_place_input_and_output_areas(padding: str, blend: bool) -> None:
    from unet_tutorial.inference import tile_boxes

    model = make_unet(depth=2, padding=padding)
    image = noise(70, 90)
    tile = 64 if padding == "same" else model.input_size_for(24)
    plan = plan_tiles(model, 70, 90, tile, blend=blend)
    padded = mirror_pad(image, *plan.pad)
    covered = np.zeros((70, 90), bool)
    for i in range(plan.num_tiles):
        boxes = tile_boxes(plan, i)
        assert boxes["image"] == (0, 0, 70, 90)
        (ti, li, hi, wi), (to, lo, ho, wo) = boxes["input"], boxes["output"]
        assert (hi, wi, ho, wo) == (plan.tile_size, plan.tile_size, plan.out_size, plan.out_size)
        # the output area is centred in the input area, `border` px inside it
        assert (to - ti, lo - li) == (model.border, model.border)
        # the input box, shifted into the padded image, is exactly the window the plan reads
        y, x = plan.positions[i]
        assert (ti + plan.pad[0], li + plan.pad[2]) == (y, x)
        assert padded[ti + plan.pad[0] : ti + plan.pad[0] + hi, li + plan.pad[2] : li + plan.pad[2] + wi].shape == (hi, wi)
        covered[max(to, 0) : to + ho, max(lo, 0) : lo + wo] = True
    assert covered.all()  # the output areas tile the whole image


def test_tile_boxes_rejects_bad_index() -> None:
    from unet_tutorial.inference import tile_boxes

    plan = plan_tiles(make_unet(depth=2), 30, 30, 52)
    with pytest.raises(ValueError, match="tile index"):
        tile_boxes(plan, plan.num_tiles)
    with pytest.raises(ValueError, match="tile index"):
        tile_boxes(plan, -1)


def test_draw_tile_plan_draws_the_mirrored_image_and_the_boxes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unet_tutorial.inference import tile_boxes
    from unet_tutorial.plotting import draw_tile_plan

    model = make_unet(depth=3)
    image = noise(100, 120)
    plan = plan_tiles(model, 100, 120, model.input_size_for(40))
    ax = draw_tile_plan(plan, image, tile=1, veil=0.0)
    shown = ax.images[0].get_array()
    assert np.array_equal(np.asarray(shown), mirror_pad(image, *plan.pad))  # the mirrored extension
    # the axes span the padded image in image coordinates
    assert ax.get_xlim() == (-plan.pad[2] - 0.5, 120 + plan.pad[3] - 0.5)
    rects = {p.get_label(): p for p in ax.patches if not p.get_label().startswith("_")}
    t, l, h, w = tile_boxes(plan, 1)["input"]
    blue = rects[f"input tile {plan.tile_size} px"]
    assert (blue.get_x(), blue.get_y(), blue.get_width(), blue.get_height()) == (l - 0.5, t - 0.5, w, h)
    assert f"output tile {plan.out_size} px" in rects and "image border" in rects
    assert len(ax.patches) == plan.num_tiles + 3  # the grid and the three highlighted boxes
    with pytest.raises(ValueError, match="as planned"):
        draw_tile_plan(plan, noise(100, 121))
    with pytest.raises(ValueError, match="veil"):
        draw_tile_plan(plan, image, veil=2.0)
    plt.close("all")


# --------------------------------------------------------------------------
# The per-pixel sliding-window baseline (Ciresan et al. 2012)
# --------------------------------------------------------------------------


def test_ciresan_n4_maps_a_95_px_window_to_two_scores() -> None:
    from unet_tutorial.baseline import CiresanN4

    net = CiresanN4()
    assert net(torch.zeros(3, 1, CiresanN4.window, CiresanN4.window)).shape == (3, 2)


def test_classify_pixels_uses_the_mirrored_window_around_each_pixel() -> None:
    from unet_tutorial.baseline import CiresanN4, classify_pixels

    torch.manual_seed(0)
    net = CiresanN4().eval()
    image = noise(40, 50)
    ys, xs = np.array([0, 39, 20, 5]), np.array([0, 49, 25, 44])  # corners need mirrored context
    probs = classify_pixels(net, image, ys, xs, batch_size=3)
    assert probs.shape == (4, 2) and np.allclose(probs.sum(1), 1, atol=1e-6)
    ref_pad = np.pad(image, 47, mode="reflect")
    windows = np.stack([ref_pad[y : y + 95, x : x + 95] for y, x in zip(ys, xs)])[:, None]
    with torch.no_grad():
        ref = torch.softmax(net(torch.from_numpy(windows)), 1).numpy()
    assert np.abs(probs - ref).max() <= 1e-5
    # a different pixel gets a different window, hence (almost surely) different scores
    assert not np.allclose(probs[0], probs[1])


def test_classify_pixels_and_timing_reject_bad_input() -> None:
    from unet_tutorial.baseline import CiresanN4, classify_pixels, time_per_pixel_classifier

    net = CiresanN4()
    image = noise(20, 20)
    with pytest.raises(ValueError, match="same length"):
        classify_pixels(net, image, [1, 2], [1])
    with pytest.raises(ValueError, match="inside the 20x20 image"):
        classify_pixels(net, image, [20], [0])
    with pytest.raises(ValueError, match="empty"):
        classify_pixels(net, image, [], [])
    with pytest.raises(ValueError, match="window"):
        classify_pixels(nn.Conv2d(1, 2, 1), image, [1], [1])
    with pytest.raises(ValueError, match="batch_size"):
        classify_pixels(net, image, [1], [1], batch_size=0)
    with pytest.raises(ValueError, match="samples"):
        time_per_pixel_classifier(net, image, samples=0)


def test_time_per_pixel_classifier_is_a_positive_time() -> None:
    from unet_tutorial.baseline import CiresanN4, time_per_pixel_classifier

    seconds = time_per_pixel_classifier(CiresanN4(), noise(30, 30), samples=8, batch_size=4)
    assert seconds > 0.0 and np.isfinite(seconds)  # a time, per pixel: no bound on the machine's speed


# --------------------------------------------------------------------------
# One untiled forward pass
# --------------------------------------------------------------------------


def test_forward_probabilities_is_one_softmaxed_pass() -> None:
    from unet_tutorial.inference import forward_probabilities

    model = make_unet(depth=2).train()  # drop-out on: must be switched off, then restored
    window = noise(52, 68)
    probs = forward_probabilities(model, window)
    assert model.training
    with torch.no_grad():
        ref = torch.softmax(model.eval()(torch.from_numpy(window)[None, None]), 1)[0].numpy()
    assert probs.shape == (2, model.output_size(52), model.output_size(68)) and probs.dtype == np.float32
    assert np.abs(probs - ref).max() <= 1e-6
    # the stitched tiles of predict_tiled reproduce one pass over the mirror-padded image
    b = model.border
    image = noise(30, 46, seed=4)
    hs, ws = model.input_size_for(30), model.input_size_for(46)
    whole = forward_probabilities(model, mirror_pad(image, b, hs - 30 - b, b, ws - 46 - b))[:, :30, :46]
    assert np.abs(predict_tiled(model, image, tile_size=52) - whole).max() <= 1e-5


def test_forward_probabilities_rejects_invalid_sizes_and_inputs() -> None:
    from unet_tutorial.inference import forward_probabilities

    model = make_unet(depth=2)
    with pytest.raises(ValueError, match="nearest valid sizes: 48 or 52"):
        forward_probabilities(model, noise(50, 52))
    with pytest.raises(ValueError, match="NaN"):
        forward_probabilities(model, np.full((52, 52), np.nan, np.float32))
    with pytest.raises(ValueError, match="torch.nn.Module"):
        forward_probabilities("model", noise(52, 52))


def test_stitching_device_holds_the_image_and_the_output() -> None:
    """stitch_device="cpu" (the default) keeps the padded image, the output and the TTA sum off the
    compute device; the result is the same wherever the stitching happens."""
    model = make_unet(depth=2)
    image = noise(70, 90)
    seen = []
    handle = model.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    a = predict_tiled(model, image, tile_size=64, tta=True)
    handle.remove()
    b = predict_tiled(model, image, tile_size=64, tta=True, stitch_device=None)
    assert np.array_equal(a, b)
    assert all(s[-1] == 64 and s[-2] == 64 for s in seen)  # only tile batches reach the network
    with pytest.raises(ValueError, match="not a valid torch device"):
        predict_tiled(model, image, tile_size=64, stitch_device="nowhere")


def test_the_stitching_device_is_the_cpu_unless_none_is_asked_for(monkeypatch) -> None:
    """The decision itself, on any machine: a GPU computes, the CPU stitches (by default)."""
    from unet_tutorial.inference import tiled

    cuda = torch.device("cuda", 0)
    assert tiled.stitching_device(cuda) == torch.device("cpu")
    assert tiled.stitching_device(cuda, None) == cuda
    # and predict_tiled keeps the padded views on that device: every job's image is on it
    homes = []
    real = tiled._run_tiles
    monkeypatch.setattr(tiled, "_run_tiles", lambda model, jobs, *a: homes.extend(
        v.device for v, _ in jobs) or real(model, jobs, *a))
    predict_tiled(make_unet(depth=2), noise(70, 90), tile_size=64, tta=True)
    assert homes and set(homes) == {torch.device("cpu")}


def test_any_callable_predicts_with_its_size_rule() -> None:
    """A predictor is a callable on tiles plus its SizeRule: the same result as the module itself."""
    from unet_tutorial.inference import SizeRule, size_rule

    model = make_unet(depth=2).eval()
    image = noise(70, 90)
    want = predict_tiled(model, image, tile_size=64, tta=True)
    calls = []

    def predictor(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return model(x)

    got = predict_tiled(predictor, image, tile_size=64, tta=True, size_rule=size_rule(model))
    assert calls and np.allclose(got, want, atol=1e-6)
    rule = SizeRule.for_unet(depth=2, padding="valid", in_channels=1, num_classes=2)
    plain = predict_tiled(model, image, tile_size=64)
    assert np.allclose(predict_tiled(predictor, image, tile_size=64, size_rule=rule), plain, atol=1e-6)
    with pytest.raises(ValueError, match="size_rule=SizeRule"):
        predict_tiled(predictor, image)
    with pytest.raises(ValueError, match="callable"):
        predict_tiled("model", image)

    class Probabilities:  # a predictor that returns probabilities (e.g. an exported network)
        outputs = "probabilities"

        def __call__(self, x):
            return torch.softmax(model(x), 1)

    assert np.allclose(predict_tiled(Probabilities(), image, tile_size=64, size_rule=rule), plain, atol=1e-6)

    class Broken:
        outputs = "probabilities"

        def __call__(self, x):
            return torch.zeros(x.shape[0], 2, 3)  # not (N, K, o, o)

    with pytest.raises(ValueError, match="must return a tensor"):
        predict_tiled(Broken(), image, tile_size=64, size_rule=rule)


def test_size_rule_checks_its_fields() -> None:
    from unet_tutorial.inference import SizeRule

    with pytest.raises(ValueError, match="padding"):
        SizeRule(output_size=lambda s: s, border=0, padding="full")
    with pytest.raises(ValueError, match="border"):
        SizeRule(output_size=lambda s: s, border=-1)
    with pytest.raises(ValueError, match="output_size"):
        SizeRule(output_size=3, border=0)
    assert SizeRule.for_unet().output_size(572) == 388 and SizeRule.for_unet().border == 92


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_large_image_fits_on_the_gpu_whatever_the_tile_size() -> None:
    model = make_unet(depth=2).cuda()
    image = np.random.default_rng(0).random((3000, 3000), dtype=np.float32)
    torch.cuda.reset_peak_memory_stats()
    predict_tiled(model, image, tile_size=124, tta=True, batch_size=4)
    # the padded image and the 2-class output alone would take ~3000² × 4 B × 3 = 108 MB on the GPU
    assert torch.cuda.max_memory_allocated() < 60e6
