"""The claims ledger: every checkable claim of the paper, and where the course measures it.

Each chapter ends by calling :func:`record` with the values it measured. ``record`` prints
the claims next to the measurements (for the reader of the notebook) and *glues* each
value under its key with myst-nb, so that ``book/claims.md`` (generated from
:data:`CLAIMS` by ``tools/make_claims.py``) shows the numbers of the executed notebooks,
never numbers typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Claim", "CLAIMS", "PAPER_TABLE1", "PAPER_TABLE2", "record", "claims_of"]


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the paper.

    Attributes:
        key: the glue key of the measured value (unique).
        statement: the claim, in the paper's terms.
        paper: the paper's value, as the paper gives it.
        section: where the paper says it (section, figure, equation or table).
        notebook: the chapter that measures it (file stem in ``notebooks/``).
    """

    key: str
    statement: str
    paper: str
    section: str
    notebook: str


CLAIMS: tuple[Claim, ...] = (
    Claim("tile_output", "A 572×572 input tile gives an output map of", "388×388", "§2, Fig. 1", "01_architecture"),
    Claim("conv_layers", "Number of convolutional layers", "23", "§2", "01_architecture"),
    Claim("border", "Context lost per side by the unpadded convolutions", "(572 − 388) / 2 = 92 px", "§2, Fig. 1", "01_architecture"),
    Claim("tiling_rule", "Valid tile sizes: every 2×2 max-pooling sees an even size", "rule stated, sizes not listed", "§2", "01_architecture"),
    Claim("he_init", "Initial weights ~ Gaussian with std √(2/N); for a 3×3 kernel over 64 channels N = 576", "√(2/576) = 0.0589", "§3", "01_architecture"),
    Claim("deform_grid", "Elastic deformation: displacements on a coarse 3×3 grid, std 10 px, bicubic interpolation", "3×3 grid, σ = 10 px", "§3.1", "02_data_and_augmentation"),
    Claim("isbi_train_size", "Training images of the EM segmentation challenge", "30 images, 512×512", "§4", "02_data_and_augmentation"),
    Claim("w0_sigma", "Weight-map parameters w0 and σ; the weight in a narrow gap between two cells", "w0 = 10, σ ≈ 5 px", "§3, Eq. 2, Fig. 3", "03_weight_maps"),
    Claim("momentum", "SGD with a high momentum, single-image batches", "momentum 0.99, batch 1", "§3", "04_training"),
    Claim("few_images", "Elastic deformation lets the network learn from very few annotated images",
          "'very few annotated images'", "abstract, §3.1", "04_training"),
    Claim("seamless", "Overlap-tile prediction is seamless (tiled = one pass over the whole mirrored image)", "seamless (Fig. 2)", "§1, §2, Fig. 2", "05_overlap_tile_inference"),
    Claim("sliding_window", "Much faster than per-pixel sliding-window classification (Ciresan et al.)", "sliding window is 'quite slow'", "§1", "05_overlap_tile_inference"),
    Claim("table1_warping", "ISBI 2012 warping error of the u-net", "0.000353 (secret test set)", "§4, Table 1", "06_evaluation"),
    Claim("table1_rand", "ISBI 2012 Rand error of the u-net", "0.0382 (secret test set)", "§4, Table 1", "06_evaluation"),
    Claim("table1_pixel", "ISBI 2012 pixel error of the u-net", "0.0611 (secret test set)", "§4, Table 1", "06_evaluation"),
    Claim("touching_separation", "The weighted loss (Eq. 2) separates touching cells of the same class",
          "separation borders learned", "§3, Eq. 2, Fig. 3", "06_evaluation"),
    Claim("table2_u373", "Mean IoU (SEG) on PhC-U373", "0.9203 (secret test sequences)", "§4, Table 2",
          "07_light_microscopy"),
    Claim("table2_hela", "Mean IoU (SEG) on DIC-HeLa", "0.7756 (secret test sequences)", "§4, Table 2",
          "07_light_microscopy"),
)

#: Table 1 of the paper (ISBI 2012 leaderboard of 6 March 2015, the challenge's secret
#: test set, sorted by warping error): group → (warping error, Rand error, pixel error),
#: in the leaderboard's conventions (splits and merges; foreground-restricted Rand; 1 − F).
PAPER_TABLE1: dict[str, tuple[float, float, float]] = {
    "human values": (0.000005, 0.0021, 0.0010),
    "u-net": (0.000353, 0.0382, 0.0611),
    "DIVE-SCI": (0.000355, 0.0305, 0.0584),
    "IDSIA (Ciresan et al.)": (0.000420, 0.0504, 0.0613),
    "DIVE": (0.000430, 0.0545, 0.0582),
    "IDSIA-SCI": (0.000653, 0.0189, 0.1027),
}

#: Table 2 of the paper (ISBI cell tracking challenge 2015, the challenge's secret test
#: sequences): group → (PhC-U373, DIC-HeLa) mean IoU (the challenge's SEG); ``None``: no entry.
PAPER_TABLE2: dict[str, tuple[float | None, float | None]] = {
    "IMCB-SG (2014)": (0.2669, 0.2935),
    "KTH-SE (2014)": (0.7953, 0.4607),
    "HOUS-US (2014)": (0.5323, None),
    "second-best 2015": (0.83, 0.46),
    "u-net (2015)": (0.9203, 0.7756),
}

_BY_KEY = {c.key: c for c in CLAIMS}


class _Text(str):
    """A string whose ``repr`` is itself, so that glued values paste without quotes."""

    def __repr__(self) -> str:
        return str(self)

assert len(_BY_KEY) == len(CLAIMS), "claim keys must be unique"


def claims_of(notebook: str) -> list[Claim]:
    """The claims that chapter ``notebook`` (file stem) measures."""
    return [c for c in CLAIMS if c.notebook == notebook]


def record(measured: dict[str, str]) -> str:
    """Record a chapter's measurements: print them next to the paper's claims and glue them.

    Args:
        measured: claim key → the value measured in this notebook, already formatted as
            text (e.g. ``"388×388"``, ``"0.0612"``), so that the ledger shows it exactly
            as the chapter does.

    Returns:
        The printed table (text).

    Raises:
        ValueError: for an unknown key or a value that is not a string.
    """
    unknown = sorted(set(measured) - set(_BY_KEY))
    if unknown:
        raise ValueError(f"unknown claim key(s) {unknown}; known: {sorted(_BY_KEY)}")
    for key, value in measured.items():
        if not isinstance(value, str):
            raise ValueError(f"measured value of {key!r} must be formatted text, got {type(value).__name__}")
    try:  # myst-nb is part of the book's toolchain; on Colab the table is enough
        from myst_nb import glue
    except ImportError:  # pragma: no cover - depends on the environment
        glue = None
    rows = []
    for key, value in measured.items():
        claim = _BY_KEY[key]
        if glue is not None:
            glue(key, _Text(value), display=False)
        rows.append((claim.statement, claim.paper, value))
    w1 = min(60, max(len(r[0]) for r in rows))
    w2 = max(len("paper"), *(len(r[1]) for r in rows))
    lines = [f"{'claim':<{w1}}  {'paper':<{w2}}  measured here"]
    for statement, paper, value in rows:
        short = statement if len(statement) <= w1 else statement[: w1 - 1] + "…"
        lines.append(f"{short:<{w1}}  {paper:<{w2}}  {value}")
    text = "\n".join(lines)
    print(text)
    return text
