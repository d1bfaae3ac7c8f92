"""Tests of unet_tutorial.augment: the paper's elastic deformation (§3.1) and friends."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unet_tutorial import augment as A
from unet_tutorial.augment import (
    Compose,
    ElasticDeform,
    GrayValue,
    RandomFlip,
    RandomRot90,
    RandomRotation,
    RandomShift,
    apply_displacement,
    elastic_deform,
    elastic_displacement,
    flips_augmentation,
    paper_augmentation,
)
from unet_tutorial.data import synthetic_em, synthetic_voronoi_instances


@pytest.fixture(scope="module")
def em():
    return synthetic_em((96, 80), n_cells=12, seed=0)


@pytest.fixture(scope="module")
def instances():
    return synthetic_voronoi_instances((96, 80), n_cells=15, gap=2, seed=0)


# ------------------------------------------------------------------ the random field


def test_control_displacements_are_gaussian_with_sigma():
    rng = np.random.default_rng(0)
    draws = np.stack([elastic_displacement((9, 9), 3, 10.0, rng).control for _ in range(400)])
    assert draws.shape == (400, 2, 3, 3)
    # 7200 values: the std of the sample std is ~10 / sqrt(2 * 7200) = 0.08 px
    assert abs(draws.std() - 10.0) < 0.35
    assert abs(draws.mean()) < 0.35
    # rows and columns are drawn independently
    assert abs(np.corrcoef(draws[:, 0].ravel(), draws[:, 1].ravel())[0, 1]) < 0.05


@pytest.mark.parametrize("shape", [(9, 9), (513, 257)])
def test_field_passes_through_the_control_points(shape):
    field, control = elastic_displacement(shape, grid=3, sigma=10.0, rng=1)
    assert field.shape == (2, *shape) and field.dtype == np.float32
    rows = np.linspace(0, shape[0] - 1, 3).astype(int)
    cols = np.linspace(0, shape[1] - 1, 3).astype(int)
    np.testing.assert_allclose(field[:, rows][:, :, cols], control, atol=1e-4)


def test_field_is_torch_bicubic_interpolation_of_the_control_grid():
    field, control = elastic_displacement((40, 70), grid=4, sigma=5.0, rng=2)
    ref = F.interpolate(torch.from_numpy(control)[None], size=(40, 70), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(field, ref[0].numpy(), atol=1e-4)


def test_field_is_smooth():
    field, control = elastic_displacement((256, 256), grid=3, sigma=10.0, rng=3)
    # a 3x3 grid over 256 px: the field changes by at most a few control
    # displacements per 128 px, i.e. well under 1 px from one pixel to the next
    step = np.abs(np.diff(field, axis=1)).max()
    assert step < 4 * np.abs(control).max() / 128
    assert np.abs(field).max() <= 1.3 * np.abs(control).max()


def test_fast_grid_equals_grid_of_dense_field():
    control = torch.randn(2, 2, 3, 3, generator=torch.Generator().manual_seed(1)) * 10
    dense = A.dense_field(control, 50, 60)
    for margin in (0, 16):
        fast = A.grid_from_control(control, 50, 60, margin)
        torch.testing.assert_close(fast, A.grid_from_field(dense, margin), atol=1e-5, rtol=0)


def test_explicit_mirror_padding_equals_grid_sample_reflection(em):
    img = torch.from_numpy(em[0])[None, None]
    lab = torch.from_numpy(em[1])[None, None]
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        field = A.dense_field(torch.randn(1, 2, 3, 3, generator=gen) * 8, *img.shape[-2:])
        m = A.field_margin(float(field.abs().max()), *img.shape[-2:])
        assert m > 0
        for mode in ("bicubic", "bilinear", "nearest"):
            padded, (lp,) = A.resample(img, A.grid_from_field(field, m), m, mode, [lab])
            reflected, (lr,) = A.resample(img, A.grid_from_field(field, 0), 0, mode, [lab])
            # nearest neighbour may pick the other pixel where a coordinate sits on a
            # half pixel (the two grids differ by float rounding)
            assert (lp != lr).float().mean() < 1e-3
            if mode == "nearest":
                assert (padded != reflected).float().mean() < 1e-3
            else:
                torch.testing.assert_close(padded, reflected, atol=1e-4, rtol=0)


# ------------------------------------------------------------------ deforming


def test_sigma_zero_is_the_identity(em, instances):
    img, _ = em
    out, lab = elastic_deform(img, instances, sigma=0.0, rng=0)
    assert np.array_equal(out, img) and np.array_equal(lab, instances)
    t_out, t_lab = elastic_deform(torch.from_numpy(img)[None, None], torch.from_numpy(instances)[None], sigma=0, rng=0)
    assert torch.equal(t_out[0, 0], torch.from_numpy(img)) and torch.equal(t_lab[0], torch.from_numpy(instances))


def test_zero_field_resamples_to_the_input(em, instances):
    img, _ = em
    out, lab = apply_displacement(img, np.zeros((2, *img.shape), np.float32), instances)
    np.testing.assert_allclose(out, img, atol=1e-5)
    assert np.array_equal(lab, instances)


def test_whole_pixel_shift_with_mirrored_border(em, instances):
    img, _ = em
    dy, dx = 3, -2
    field = np.zeros((2, *img.shape), np.float32)
    field[0], field[1] = dy, dx
    out, lab = apply_displacement(img, field, instances, interpolation="bicubic")
    # output (y, x) = input (y + dy, x + dx), mirrored beyond the edge
    ref_img = np.pad(img, 5, mode="reflect")[5 + dy : 5 + dy + img.shape[0], 5 + dx : 5 + dx + img.shape[1]]
    ref_lab = np.pad(instances, 5, mode="reflect")[5 + dy : 5 + dy + img.shape[0], 5 + dx : 5 + dx + img.shape[1]]
    np.testing.assert_allclose(out, ref_img, atol=1e-5)
    assert np.array_equal(lab, ref_lab)


def test_labels_keep_their_values(instances, em):
    img, binary = em
    out, lab = elastic_deform(img, instances, rng=4)
    assert lab.dtype == instances.dtype and lab.shape == instances.shape
    assert set(np.unique(lab)) <= set(np.unique(instances))
    assert not np.array_equal(lab, instances)  # it did deform
    _, b = elastic_deform(img, binary, rng=4)
    assert set(np.unique(b)) <= {0, 1}
    _, bb = elastic_deform(img, binary.astype(bool), rng=4)
    assert bb.dtype == np.bool_ and np.array_equal(bb, b.astype(bool))
    # ids beyond float32's exact integers go through float64
    big = instances.astype(np.int64) + (2**40)
    _, lb = elastic_deform(img, big, rng=4)
    assert set(np.unique(lb)) <= set(np.unique(big))
    np.testing.assert_array_equal(lb - 2**40, elastic_deform(img, instances.astype(np.int64), rng=4)[1])


def test_bicubic_output_stays_in_input_range(em):
    img, _ = em
    out = elastic_deform(img, rng=5, sigma=15.0)
    assert img.min() <= out.min() and out.max() <= img.max()
    assert out.dtype == np.float32 and out.shape == img.shape


def test_seeds_are_reproducible(em):
    img, lab = em
    a = elastic_deform(img, lab, rng=7)
    b = elastic_deform(img, lab, rng=np.random.default_rng(7))
    c = elastic_deform(img, lab, rng=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_multichannel_numpy_image(em):
    img, lab = em
    rgb = np.stack([img, 1 - img, img**2])
    out, out_lab = elastic_deform(rgb, lab, rng=3)
    single, single_lab = elastic_deform(img, lab, rng=3)
    assert out.shape == rgb.shape
    np.testing.assert_allclose(out[0], single, atol=1e-6)  # one field for all channels
    assert np.array_equal(out_lab, single_lab)


def test_result_does_not_depend_on_the_thread_count(em, instances):
    img, _ = em
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = elastic_deform(img, instances, rng=3)
        torch.set_num_threads(2)
        two = elastic_deform(img, instances, rng=3)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])


def test_numpy_and_torch_paths_agree(em, instances):
    img, _ = em
    n_out, n_lab = elastic_deform(img, instances, rng=11)
    t_out, t_lab = elastic_deform(torch.from_numpy(img)[None, None], torch.from_numpy(instances)[None], rng=11)
    np.testing.assert_allclose(t_out[0, 0].numpy(), n_out, atol=1e-6)
    assert np.array_equal(t_lab[0].numpy(), n_lab)


def test_batch_sample_n_is_the_nth_draw_and_fields_differ(em, instances):
    img, _ = em
    batch = torch.from_numpy(np.stack([img] * 3))[:, None]
    labels = torch.from_numpy(np.stack([instances] * 3))[:, None]  # (N, 1, H, W) works too
    out, lab = elastic_deform(batch, labels, rng=np.random.default_rng(5))
    assert out.shape == batch.shape and lab.shape == labels.shape and lab.dtype == labels.dtype
    rng = np.random.default_rng(5)
    for n in range(3):
        ref_img, ref_lab = elastic_deform(img, instances, rng=rng)
        # the batch shares one mirror margin, so coordinates differ by float rounding
        np.testing.assert_allclose(out[n, 0].numpy(), ref_img, atol=1e-4)
        assert (lab[n, 0].numpy() != ref_lab).mean() < 1e-3
    assert not torch.equal(out[0], out[1])  # every sample its own field


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_matches_cpu(em, instances):
    img, _ = em
    x = torch.from_numpy(img)[None, None]
    y = torch.from_numpy(instances)[None]
    cpu = elastic_deform(x, y, rng=3)
    gpu = elastic_deform(x.cuda(), y.cuda(), rng=3)
    assert gpu[0].is_cuda
    torch.testing.assert_close(gpu[0].cpu(), cpu[0], atol=1e-4, rtol=0)
    assert (gpu[1].cpu() != cpu[1]).float().mean() < 1e-3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda img, lab: elastic_deform(img[0]), "shape"),
        (lambda img, lab: elastic_deform(img[None, None]), "shape"),
        (lambda img, lab: elastic_deform(img, lab[:-1]), "label shape"),
        (lambda img, lab: elastic_deform(img, lab.astype(np.float32)), "integer"),
        (lambda img, lab: elastic_deform((img * 255).astype(np.uint8)), "floating-point"),
        (lambda img, lab: elastic_deform(np.where(lab == 0, np.nan, img)), "NaN"),
        (lambda img, lab: elastic_deform(np.where(lab == 0, np.inf, img)), "infinite"),
        (lambda img, lab: elastic_deform(img, grid=1), "grid"),
        (lambda img, lab: elastic_deform(img, sigma=-1.0), "sigma"),
        (lambda img, lab: elastic_deform(img, interpolation="lanczos"), "interpolation"),
        (lambda img, lab: elastic_deform(img, rng="seed"), "rng"),
        (lambda img, lab: elastic_deform(img[:1, :]), "2x2"),
        (lambda img, lab: elastic_deform(img.tolist()), "numpy array or a torch tensor"),
        (lambda img, lab: elastic_deform(img, torch.from_numpy(lab)), "both"),
        (
            lambda img, lab: elastic_deform(torch.zeros(2, 1, *img.shape), torch.zeros(3, *img.shape, dtype=torch.long)),
            "label shape",
        ),
        (lambda img, lab: apply_displacement(img, np.zeros((2, 5, 5), np.float32)), "field must have shape"),
        (lambda img, lab: apply_displacement(img, np.full((2, *img.shape), np.nan, np.float32)), "NaN"),
        (lambda img, lab: elastic_displacement((1, 5)), "shape"),
    ],
)
def test_errors(em, call, match):
    img, lab = em
    with pytest.raises(ValueError, match=match):
        call(img, lab)


# ------------------------------------------------------------------ transforms


def _sample(em):
    img, lab = em
    # label and weight carry the same information, so any mix-up shows
    return img[None].copy(), lab.copy(), lab.astype(np.float32) * 2 + 1


def test_flip_and_rot90_are_exact_and_consistent(em):
    img, lab, w = _sample(em)
    candidates = [np.rot90(f, k, axes=(-2, -1)) for f in (img, img[..., ::-1]) for k in range(4)]
    for seed in range(6):
        rng = np.random.default_rng(seed)
        x, y, ww = Compose([RandomFlip(), RandomRot90()])(img, lab, w, rng)
        assert any(c.shape == x.shape and np.array_equal(c, x) for c in candidates)
        # image, label and weight got the same transform
        ref = next(i for i, c in enumerate(candidates) if c.shape == x.shape and np.array_equal(c, x))
        k, flipped = ref % 4, ref >= 4
        lab_ref = np.rot90(lab[..., ::-1] if flipped else lab, k)
        assert np.array_equal(y, lab_ref) and np.array_equal(ww, lab_ref * 2 + 1)


def test_elastic_transform_keeps_label_and_weight_together(em):
    img, lab, w = _sample(em)
    x, y, ww = ElasticDeform(sigma=10)(img, lab, w, np.random.default_rng(0))
    assert x.shape == img.shape and y.shape == lab.shape and ww.shape == w.shape
    assert not np.array_equal(y, lab)
    # every output pixel takes label and weight from the same input pixel
    assert np.array_equal(ww, y.astype(np.float32) * 2 + 1)
    x0, y0, w0 = ElasticDeform(p=0.0)(img, lab, w, np.random.default_rng(0))
    assert x0 is img and y0 is lab and w0 is w


def test_elastic_transform_is_elastic_deform(em):
    img, lab, _ = _sample(em)
    x, y, _ = ElasticDeform()(img, lab, None, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    rng.random()  # the transform's draw for p
    ref_x, ref_y = elastic_deform(img, lab, rng=rng)
    np.testing.assert_allclose(x, ref_x, atol=1e-5)
    assert np.array_equal(y, ref_y)


def test_rotation_by_90_degrees_matches_rot90():
    img = np.random.default_rng(0).random((33, 33)).astype(np.float32)
    field = A.affine_field(img.shape, 90.0, (0.0, 0.0))
    out = apply_displacement(img, field, interpolation="bilinear")
    np.testing.assert_allclose(out, np.rot90(img, -1), atol=1e-4)  # clockwise


def test_random_rotation_and_shift(em):
    img, lab, w = _sample(em)
    x, y, ww = RandomRotation(degrees=30)(img, lab, w, np.random.default_rng(1))
    assert x.shape == img.shape and set(np.unique(y)) <= set(np.unique(lab))
    assert np.array_equal(ww, y.astype(np.float32) * 2 + 1)
    x, y, ww = RandomShift(max_shift=2)(img, lab, w, np.random.default_rng(1))
    pad = lambda a: np.pad(a, [(0, 0)] * (a.ndim - 2) + [(2, 2), (2, 2)], mode="reflect")  # noqa: E731
    h, wd = lab.shape
    matches = [
        (dy, dx)
        for dy in range(-2, 3)
        for dx in range(-2, 3)
        if np.array_equal(pad(lab)[2 + dy : 2 + dy + h, 2 + dx : 2 + dx + wd], y)
        and np.allclose(pad(img)[:, 2 + dy : 2 + dy + h, 2 + dx : 2 + dx + wd], x, atol=1e-6)
    ]
    assert len(matches) >= 1


def test_gray_value(em):
    img, lab, w = _sample(em)
    same = GrayValue(0, 0, 0)(img, lab, w, np.random.default_rng(0))
    np.testing.assert_allclose(same[0], img, atol=1e-6)
    x, y, ww = GrayValue(0.2, 0.2, 0.2)(img, lab, w, np.random.default_rng(0))
    assert y is lab and ww is w
    assert 0 <= x.min() and x.max() <= 1 and not np.allclose(x, img)
    # a monotone change: the order of gray values is kept
    flat, out = img.ravel(), x.ravel()
    i = np.argsort(flat)
    assert (np.diff(out[i]) >= -1e-6).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        GrayValue()(img * 2, lab, w, np.random.default_rng(0))
    with pytest.raises(ValueError, match="contrast"):
        GrayValue(contrast=1.0)
    with pytest.raises(ValueError, match="gamma"):
        GrayValue(gamma=-0.1)


def test_paper_augmentation(em):
    img, lab, w = _sample(em)
    aug = paper_augmentation()
    assert any(isinstance(t, ElasticDeform) and t.grid == 3 and t.sigma == 10 for t in aug.transforms)
    a = aug(img, lab, w, np.random.default_rng(3))
    b = aug(img, lab, w, np.random.default_rng(3))
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    x, y, ww = a
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) <= {0, 1} and np.array_equal(ww, y.astype(np.float32) * 2 + 1)
    assert "ElasticDeform(grid=3, sigma=10.0" in repr(aug)
    x, y, ww = flips_augmentation()(img, lab, None, np.random.default_rng(0))
    assert ww is None and x.shape[-2:] == y.shape


def test_the_elastic_choice_is_the_deformation_without_gray_values(em):
    """augment="elastic" (isbi2012-few-images): flips, rotations and §3.1's deformation, nothing else."""
    from unet_tutorial.augment import augmentation

    kinds = {name: [type(t).__name__ for t in augmentation(name).transforms]
             for name in ("paper", "elastic", "flips")}
    assert kinds == {"paper": ["RandomFlip", "RandomRot90", "ElasticDeform", "GrayValue"],
                     "elastic": ["RandomFlip", "RandomRot90", "ElasticDeform"],
                     "flips": ["RandomFlip", "RandomRot90"]}
    img, lab, w = _sample(em)
    x, y, _ = augmentation("elastic")(img, lab, w, np.random.default_rng(1))
    # no gray-value change: every output value is an interpolation of the input's range
    assert img.min() - 1e-6 <= x.min() and x.max() <= img.max() + 1e-6 and not np.array_equal(x, img)


def test_transform_errors(em):
    img, lab, w = _sample(em)
    with pytest.raises(ValueError, match="weight shape"):
        ElasticDeform()(img, lab, w[:-1], np.random.default_rng(0))
    with pytest.raises(ValueError, match="weight must be floating"):
        ElasticDeform()(img, lab, lab.copy(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(-1)
    with pytest.raises(ValueError, match="grid"):
        ElasticDeform(grid=0)


# ------------------------------------------------------------------ plotting helpers


def test_grid_image_and_plot_displacement():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unet_tutorial.plotting import grid_image, plot_displacement

    g = grid_image((64, 48), spacing=16, width=2)
    assert g.shape == (64, 48) and set(np.unique(g)) == {0.0, 1.0}
    assert g[0].all() and g[:, 16].all() and not g[5, 5]
    field, control = elastic_displacement((64, 48), rng=0)
    fig, ax = plt.subplots()
    plot_displacement(ax, field, control, step=16)
    assert len(ax.collections) == 2  # dense arrows and control arrows
    plt.close(fig)
    with pytest.raises(ValueError, match="field"):
        plot_displacement(None, field[0])


def test_augmentations_are_registered_by_name_and_an_unknown_name_is_an_error():
    from unet_tutorial.augment import AUGMENTATIONS, augmentation
    from unet_tutorial.config import get_config

    assert augmentation("none") is None
    assert [type(t).__name__ for t in augmentation("flips").transforms] == ["RandomFlip", "RandomRot90"]
    assert [type(t).__name__ for t in augmentation("elastic").transforms] == ["RandomFlip", "RandomRot90",
                                                                              "ElasticDeform"]
    assert "GrayValue" in [type(t).__name__ for t in augmentation("paper").transforms]
    with pytest.raises(ValueError, match="unknown augmentation 'flip'; known: none, flips"):
        augmentation("flip")
    # the configuration accepts exactly the registered names, at configuration time
    assert all(get_config("cpu", augment=name).augment == name for name in AUGMENTATIONS)
    with pytest.raises(ValueError, match="augment"):
        get_config("cpu", augment="flip")
