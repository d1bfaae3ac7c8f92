"""The claims ledger: every checkable claim of the paper, measured by the course, with a verdict.

Each :class:`Claim` carries the paper's value, a comparison :class:`Rule` and a *measure*:
a function without arguments (:mod:`unet_tutorial.measures`) that computes the value
from the package itself (size arithmetic, initialisation statistics, default
parameters, small deterministic computations) or reads it from a committed record in
``results/`` (training results, timings). The rule turns the measured value into a
verdict, one of :data:`VERDICTS`:

- ``reproduced``: the course measures what the paper says (for a setting: the package
  implements the paper's value);
- ``close``: near it, within the rule's looser margin;
- ``inconclusive``: an experiment that can answer neither way: the 95 % interval of its
  paired difference contains no effect as well as the paper's (:class:`PairedInterval`),
  or the experiment's precondition failed;
- ``not reproduced``: the measurement does not support the claim (for an experiment:
  its interval lies on the other side of 0);
- ``not comparable``: the course's number is not measured like the paper's (other
  images, other hardware); the rule says why, and the number is shown for information.

Each claim also declares the verdict the course stands by (``expected``);
``tests/test_ledger.py`` computes every measure and fails, naming the claim, when a
computed verdict differs from the declared one. Each chapter ends with
``record("<its file stem>")``, which measures its claims and shows them as a table;
``tools/make_claims.py`` writes ``book/claims.md`` from the same measures.

Example:
    >>> from unet_tutorial.ledger import CLAIMS, claims_of
    >>> [c.key for c in claims_of("01_architecture")][:3]
    ['why_u_skips', 'why_u_fcn', 'why_u_window']
    >>> {c.key: c.expected for c in CLAIMS}["table1_rand"]
    'not comparable'
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

from . import measures as _m
from .measures import Measured

__all__ = ["VERDICTS", "Rule", "Exact", "Tolerance", "AtLeast", "AtMost", "Holds", "NotComparable", "PairedInterval",
           "RegisteredRule", "Measured", "INCONCLUSIVE",
           "Claim", "CLAIMS", "Assessment", "ClaimsTable", "PAPER_TABLE1", "PAPER_TABLE2", "assess", "chapters",
           "claims_of", "record", "table_cell", "SLIDING_WINDOW_SPEEDUP"]

REPRODUCED, CLOSE, NOT_REPRODUCED, NOT_COMPARABLE = "reproduced", "close", "not reproduced", "not comparable"
#: An experiment whose interval contains no effect as well as the paper's: it can answer neither way.
INCONCLUSIVE = "inconclusive"
#: The verdicts, from the best to "not comparable".
VERDICTS = (REPRODUCED, CLOSE, INCONCLUSIVE, NOT_REPRODUCED, NOT_COMPARABLE)


def _num(value: Any) -> str:
    """A number, a tuple or a text in words: ``388``, ``0.0589``, ``sgd, 0.99, 1``."""
    if isinstance(value, tuple):
        return ", ".join(_num(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _missing(value: Any) -> bool:
    """No measurement: ``None`` or a non-finite number."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


# --------------------------------------------------------------------------
# The comparison rules
# --------------------------------------------------------------------------


class Rule:
    """A comparison rule: the verdict of a measured value, and the rule in words."""

    def verdict(self, value: Any) -> str:  # pragma: no cover - abstract
        """One of :data:`VERDICTS` for the measured ``value``."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """The rule in words, for the ledger's tables."""
        raise NotImplementedError


@dataclass(frozen=True)
class Exact(Rule):
    """Reproduced when the measured value equals ``value`` (an int, a text, a tuple), else not reproduced.

    For settings and size arithmetic, where any difference is a different network.

    Examples:
        >>> Exact(23).verdict(23), Exact(23).verdict(22)
        ('reproduced', 'not reproduced')
        >>> Exact((30, 512, 512), "30 images of 512×512").describe()
        'exactly 30 images of 512×512'
    """

    value: Any
    text: str = ""

    def verdict(self, value: Any) -> str:
        return REPRODUCED if not _missing(value) and value == self.value else NOT_REPRODUCED

    def describe(self) -> str:
        return f"exactly {self.text or _num(self.value)}"


@dataclass(frozen=True)
class Tolerance(Rule):
    """Reproduced within ``within`` of ``target``, close within ``close``, else not reproduced.

    ``relative=True`` (default): the margins are fractions of ``target``
    (``|value − target| ≤ within · |target|``); else absolute, in the value's unit.

    Examples:
        >>> rule = Tolerance(0.0589, within=0.02, close=0.10)
        >>> rule.verdict(0.0593), rule.verdict(0.0630), rule.verdict(0.08)
        ('reproduced', 'close', 'not reproduced')
        >>> rule.describe()
        'within 2 % of 0.0589 (close: within 10 %)'
        >>> Tolerance(10.0, within=0.5, relative=False, unit=" px").describe()
        'within ± 0.5 px of 10 px'
    """

    target: float
    within: float
    close: float | None = None
    relative: bool = True
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.within >= 0 or (self.close is not None and not self.close >= self.within):
            raise ValueError(f"need 0 <= within <= close, got within={self.within!r}, close={self.close!r}")

    def verdict(self, value: Any) -> str:
        if _missing(value):
            return NOT_REPRODUCED
        off = abs(float(value) - self.target) / (abs(self.target) if self.relative else 1.0)
        if off <= self.within:
            return REPRODUCED
        return CLOSE if self.close is not None and off <= self.close else NOT_REPRODUCED

    def field_margin(self, m: float) -> str:
        return f"{m * 100:g} %" if self.relative else f"± {m:g}{self.unit}"

    def describe(self) -> str:
        text = f"within {self.field_margin(self.within)} of {self.target:.4g}{self.unit}"
        return text + (f" (close: within {self.field_margin(self.close)})" if self.close is not None else "")


@dataclass(frozen=True)
class _Bound(Rule):
    """A bound on the measured number: reproduced within ``bound``, close within ``close``.

    ``quantity`` names the measured number in :meth:`describe`. The subclasses say on
    which side of the bound the claim holds (``_holds``, ``_symbol``).
    """

    bound: float
    close: float | None = None
    unit: str = ""
    quantity: str = ""
    _symbol = "≥"
    _holds = staticmethod(operator.ge)

    def verdict(self, value: Any) -> str:
        if _missing(value):
            return NOT_REPRODUCED
        if self._holds(value, self.bound):
            return REPRODUCED
        near = self.close is not None and self._holds(value, self.close)
        return CLOSE if near else NOT_REPRODUCED

    def describe(self) -> str:
        text = f"{self.quantity + ' ' if self.quantity else ''}{self._symbol} {self.bound:g}{self.unit}"
        if self.close is None:
            return text
        return text + f" (close: {self._symbol} {self.close:g}{self.unit})"


@dataclass(frozen=True)
class AtLeast(_Bound):
    """Reproduced when the value is at least ``bound``, close when at least ``close``, else not reproduced.

    For qualitative claims measured by a number: "much faster" as a speed ratio.

    Examples:
        >>> AtLeast(100, close=10).verdict(5182.0), AtLeast(100, close=10).verdict(42.0)
        ('reproduced', 'close')
        >>> AtLeast(100, close=10, unit="×", quantity="speed ratio").describe()
        'speed ratio ≥ 100× (close: ≥ 10×)'
    """


@dataclass(frozen=True)
class AtMost(_Bound):
    """Reproduced when the value is at most ``bound``, close when at most ``close``, else not reproduced.

    Examples:
        >>> AtMost(1e-4).verdict(2e-6), AtMost(1.0, close=2.0, unit=" s").verdict(1.5)
        ('reproduced', 'close')
        >>> AtMost(1.0, unit=" s").describe()
        '≤ 1 s'
    """

    _symbol = "≤"
    _holds = staticmethod(operator.le)


@dataclass(frozen=True)
class Holds(Rule):
    """For a measured yes/no: reproduced when ``condition`` holds (the value is ``True``), else not reproduced.

    Examples:
        >>> rule = Holds("Eq. 2 merges fewer touching pairs than plain cross-entropy in every seed")
        >>> rule.verdict(True), rule.verdict(False)
        ('reproduced', 'not reproduced')
        >>> rule.describe()[:40]
        'holds: Eq. 2 merges fewer touching pairs'
    """

    condition: str

    def verdict(self, value: Any) -> str:
        if not isinstance(value, bool) and value is not None:
            raise ValueError(f"Holds compares a bool, got {type(value).__name__}")
        return REPRODUCED if value is True else NOT_REPRODUCED

    def describe(self) -> str:
        return f"holds: {self.condition}"


@dataclass(frozen=True)
class PairedInterval(Rule):
    """For a paired difference between two arms with its 95 % interval ``(mean, low, high)``, where
    the paper predicts its sign: reproduced when the whole interval lies on the predicted side of
    0, not reproduced when it lies on the other side, inconclusive when it contains 0 (the
    experiment cannot tell). ``None`` (the experiment could not test the claim): inconclusive.

    Examples:
        >>> rule = PairedInterval("Rand error (elastic) - (rigid)", predicted="negative")
        >>> rule.verdict((-0.05, -0.08, -0.01)), rule.verdict((0.02, -0.1, 0.14)), rule.verdict((0.05, 0.01, 0.09))
        ('reproduced', 'inconclusive', 'not reproduced')
    """

    difference: str
    predicted: str = "negative"

    def __post_init__(self) -> None:
        if self.predicted not in ("negative", "positive"):
            raise ValueError(f"predicted must be 'negative' or 'positive', got {self.predicted!r}")

    def verdict(self, value: Any) -> str:
        if value is None:
            return INCONCLUSIVE
        from .experiments.summary import interval_verdict

        _, low, high = (float(v) for v in value)
        return interval_verdict({"low": low, "high": high}, self.predicted)

    def describe(self) -> str:
        return (f"95 % paired interval of {self.difference}: reproduced if wholly {self.predicted}, not reproduced "
                f"if wholly of the other sign, inconclusive if it contains 0")


@dataclass(frozen=True)
class RegisteredRule(Rule):
    """The verdict of an experiment's own rule, registered with it before its run (its
    ``verdict_rule``) and computed from its record by the measure (e.g.
    :func:`~unet_tutorial.experiments.optimiser_outcome`): for outcomes that are not one
    interval (runs that train, collapse or diverge). The value is that verdict.

    Example:
        >>> RegisteredRule("isbi2012-optimiser").verdict("not reproduced")
        'not reproduced'
    """

    experiment: str

    def verdict(self, value: Any) -> str:
        if value not in (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED):
            raise ValueError(f"RegisteredRule takes the verdict of {self.experiment}'s rule, got {value!r}")
        return value

    def describe(self) -> str:
        return f"the verdict rule of {self.experiment}, registered before its run (see its record)"


@dataclass(frozen=True)
class NotComparable(Rule):
    """No comparison: the course's value is not measured like the paper's; ``reason`` says why.

    The measured value is still shown, for information.

    Example:
        >>> NotComparable("held-out training slices, not the secret test set").verdict(0.064)
        'not comparable'
    """

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("NotComparable needs a reason")

    def verdict(self, value: Any) -> str:
        return NOT_COMPARABLE

    def describe(self) -> str:
        return f"not comparable: {self.reason}"


# --------------------------------------------------------------------------
# The claims
# --------------------------------------------------------------------------


#: "Much faster than the sliding window" (claim ``sliding_window``): the speed ratio of
#: overlap-tile over per-pixel classification that reproduces it; ``experiment check
#: speed-512`` checks the recorded ratio against the same bound.
SLIDING_WINDOW_SPEEDUP = 100.0


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the paper, its measure and its rule.

    Attributes:
        key: identifier (unique).
        statement: the claim, in the paper's terms.
        paper: the paper's value, a number or a text.
        section: where the paper says it (section, figure, equation or table).
        notebook: the chapter that shows it (file stem in ``notebooks/``).
        rule: the comparison that gives the verdict.
        measure: function without arguments returning the :class:`Measured` value.
        expected: the verdict the course stands by (one of :data:`VERDICTS`).
        paper_text: how the ledger shows the paper's value (default: ``paper``).
        data: the data sets the measure reads (``isbi2012``, ``dsb2018``), besides ``results/``.
    """

    key: str
    statement: str
    paper: float | int | str
    section: str
    notebook: str
    rule: Rule
    measure: Callable[[], Measured]
    expected: str
    paper_text: str = ""
    data: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.expected not in VERDICTS:
            raise ValueError(f"claim {self.key!r}: expected must be one of {VERDICTS}, got {self.expected!r}")

    @property
    def paper_shown(self) -> str:
        """The paper's value as the ledger shows it."""
        return self.paper_text or _num(self.paper)


_HELD_OUT_ISBI = ("the course's reference model (16 channels, about an hour on 2 CPU cores) scored on held-out "
                  "training slices 25–29 with the challenge's conventions; the paper's number is the challenge's "
                  "secret test set, scored by its organisers")
_HELD_OUT_CTC = ("held-out later frames of a training sequence, scored by the course's SEG; the paper's number is the "
                 "challenge's secret test sequences")

CLAIMS: tuple[Claim, ...] = (
    Claim("why_u_skips", "The skip connections bring back the localisation the contracting path loses: the U-Net "
          "beats the same encoder-decoder without them", "the U's argument", "§1, §2, Fig. 1", "01_architecture",
          PairedInterval("held-out Rand error, (no skip connections) − (U-Net), paired by seed, at equal training "
                         "time", predicted="positive"), _m.why_u_skips, INCONCLUSIVE, data=("isbi2012",)),
    Claim("why_u_fcn", "A symmetric expanding path beats the fully convolutional network's one-step upsampling "
          "(Long et al.)", "U-Net extends FCN", "§1, §2", "01_architecture",
          PairedInterval("held-out Rand error, (FCN-16s decoder) − (U-Net), paired by seed, at equal training time",
                         predicted="positive"), _m.why_u_fcn, INCONCLUSIVE, data=("isbi2012",)),
    Claim("why_u_window", "U-Net beats the sliding-window classifier of Ciresan et al. (Table 1: Rand error 0.0382 "
          "vs 0.0504)", "0.0382 vs 0.0504", "§1, §4, Table 1", "01_architecture",
          PairedInterval("held-out Rand error, (Ciresan N4, run densely) − (U-Net), paired by seed, at equal "
                         "training time", predicted="positive"), _m.why_u_window, REPRODUCED,
          data=("isbi2012",)),
    Claim("tile_output", "A 572×572 input tile gives an output map of", 388, "§2, Fig. 1", "01_architecture",
          Exact(388, "388 px"), _m.tile_output, REPRODUCED, "388×388"),
    Claim("conv_layers", "Number of convolutional layers", 23, "§2", "01_architecture",
          Exact(23), _m.conv_layers, REPRODUCED),
    Claim("border", "Context lost per side by the unpadded convolutions", 92, "§2, Fig. 1", "01_architecture",
          Exact(92, "92 px"), _m.border, REPRODUCED, "(572 − 388) / 2 = 92 px"),
    Claim("tiling_rule", "Valid tile sizes: every 2×2 max-pooling sees an even size", "rule stated, sizes not listed",
          "§2", "01_architecture", AtMost(_m.FLOAT_NOISE, quantity="max |crop − whole| (float32 rounding)"),
          _m.tiling_rule, REPRODUCED),
    Claim("he_init", "Initial weights ~ Gaussian with std √(2/N); for a 3×3 kernel over 64 channels N = 576",
          math.sqrt(2 / 576), "§3", "01_architecture", Tolerance(math.sqrt(2 / 576), within=0.02, close=0.10),
          _m.he_init, REPRODUCED, "√(2/576) = 0.0589"),
    Claim("deform_grid", "Elastic deformation: displacements on a coarse 3×3 grid, std 10 px, bicubic interpolation",
          10.0, "§3.1", "02_data_and_augmentation", Tolerance(10.0, within=0.02, close=0.10, unit=" px"),
          _m.deform_grid, REPRODUCED, "3×3 grid, σ = 10 px"),
    Claim("isbi_train_size", "Training images of the EM segmentation challenge", "30 images, 512×512", "§4",
          "02_data_and_augmentation", Exact((30, 512, 512), "30 images of 512×512"), _m.isbi_train_size,
          REPRODUCED, data=("isbi2012",)),
    Claim("w0_sigma", "Weight-map parameters w0 and σ; the weight in a narrow gap between two cells",
          "w0 = 10, σ ≈ 5 px", "§3, Eq. 2, Fig. 3", "03_weight_maps",
          Exact((10.0, 5.0), "w0 = 10, σ = 5 px in the paper configuration"), _m.w0_sigma, REPRODUCED,
          data=("dsb2018",)),
    Claim("momentum", "SGD with a high momentum (0.99) and one tile per step trains the network (at some learning "
          "rate, to within 0.05 of Adam's held-out Rand error at equal steps)", "momentum 0.99, batch 1", "§3",
          "04_training", RegisteredRule("isbi2012-optimiser"), _m.momentum, NOT_REPRODUCED),
    Claim("few_images", "Elastic deformation lets the network learn from very few annotated images",
          "'very few annotated images'", "abstract, §3.1", "04_training",
          PairedInterval("held-out Rand error with 2 training slices, (rigid + elastic) − (rigid), paired "
                         "by seed, if the unaugmented arm overfits", predicted="negative"),
          _m.few_images, INCONCLUSIVE),
    Claim("seamless", "Overlap-tile prediction is seamless (tiled = one pass over the whole mirrored image)",
          "seamless (Fig. 2)", "§1, §2, Fig. 2", "05_overlap_tile_inference",
          AtMost(_m.FLOAT_NOISE, quantity="max |tiled − whole| (float32 rounding)"),
          _m.seamless, REPRODUCED, data=("isbi2012",)),
    Claim("sliding_window", "Much faster than per-pixel sliding-window classification (Ciresan et al.)",
          "sliding window is 'quite slow'", "§1", "05_overlap_tile_inference",
          AtLeast(SLIDING_WINDOW_SPEEDUP, close=10, unit="×", quantity="speed ratio"),
          _m.sliding_window, REPRODUCED),
    Claim("speed_512", "Segmentation of a 512×512 image takes less than a second on a recent GPU", 1.0,
          "abstract", "05_overlap_tile_inference",
          NotComparable("timed on the course's 2-core CPU; the paper's second is for a GPU (re-record speed-512 "
                        "on a GPU to compare)"),
          _m.speed_512, NOT_COMPARABLE, "< 1 s (GPU, 2015)"),
    Claim("table1_warping", "ISBI 2012 warping error of the u-net", 0.000353, "§4, Table 1", "06_evaluation",
          NotComparable(_HELD_OUT_ISBI), _m.table1_warping, NOT_COMPARABLE, "0.000353 (secret test set)"),
    Claim("table1_rand", "ISBI 2012 Rand error of the u-net", 0.0382, "§4, Table 1", "06_evaluation",
          NotComparable(_HELD_OUT_ISBI), _m.table1_rand, NOT_COMPARABLE, "0.0382 (secret test set)"),
    Claim("table1_pixel", "ISBI 2012 pixel error of the u-net", 0.0611, "§4, Table 1", "06_evaluation",
          NotComparable(_HELD_OUT_ISBI), _m.table1_pixel, NOT_COMPARABLE, "0.0611 (secret test set)"),
    Claim("touching_separation", "The weighted loss (Eq. 2) separates touching cells of the same class",
          "separation borders learned", "§3, Eq. 2, Fig. 3", "06_evaluation",
          RegisteredRule("dsb2018-border-weights"), _m.touching_separation, INCONCLUSIVE),
    Claim("table2_u373", "Mean IoU (SEG) on PhC-U373", 0.9203, "§4, Table 2", "07_light_microscopy",
          NotComparable(_HELD_OUT_CTC), _m.table2_u373, NOT_COMPARABLE, "0.9203 (secret test sequences)"),
    Claim("table2_u373_gold", "Mean IoU (SEG) on PhC-U373, trained on partially annotated frames as the paper "
          "was", 0.9203, "§4, Table 2", "07_light_microscopy", NotComparable(_HELD_OUT_CTC),
          _m.table2_u373_gold, NOT_COMPARABLE, "0.9203 (secret test sequences)"),
    Claim("table2_hela", "Mean IoU (SEG) on DIC-HeLa", 0.7756, "§4, Table 2", "07_light_microscopy",
          NotComparable(_HELD_OUT_CTC + "; here against the computer-generated silver truth (no public gold "
                        "truth)"), _m.table2_hela, NOT_COMPARABLE, "0.7756 (secret test sequences)"),
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
assert len(_BY_KEY) == len(CLAIMS), "claim keys must be unique"


def chapters() -> list[str]:
    """The chapters (file stems) that show claims, in order."""
    return sorted({c.notebook for c in CLAIMS})


def claims_of(notebook: str) -> list[Claim]:
    """The claims that chapter ``notebook`` (file stem) shows."""
    return [c for c in CLAIMS if c.notebook == notebook]


# --------------------------------------------------------------------------
# Measuring and showing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """A claim, its measured value and the verdict its rule gives."""

    claim: Claim
    measured: Measured
    verdict: str

    @property
    def drifted(self) -> bool:
        """Whether the verdict differs from the one the course stands by (``claim.expected``)."""
        return self.verdict != self.claim.expected

    @property
    def verdict_shown(self) -> str:
        """The verdict, with the expected one when they differ."""
        return self.verdict + (f" (the ledger expects {self.claim.expected})" if self.drifted else "")


_CACHE: dict[str, Assessment] = {}


def assess(claim: Claim | str, *, refresh: bool = False) -> Assessment:
    """Measure ``claim`` (or its key) and apply its rule; measured once per process unless ``refresh``.

    Raises:
        ValueError: an unknown key.
    """
    if isinstance(claim, str):
        if claim not in _BY_KEY:
            raise ValueError(f"unknown claim key {claim!r}; known: {sorted(_BY_KEY)}")
        claim = _BY_KEY[claim]
    if refresh or claim.key not in _CACHE:
        measured = claim.measure()
        if not isinstance(measured, Measured):
            raise TypeError(f"measure of {claim.key!r} returned {type(measured).__name__}, not Measured")
        _CACHE[claim.key] = Assessment(claim, measured, claim.rule.verdict(measured.value))
    return _CACHE[claim.key]


def table_cell(text: str) -> str:
    """Text for a Markdown table cell (pipes escaped)."""
    return text.replace("|", "\\|")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class ClaimsTable:
    """The claims of one chapter, measured: a Markdown table in Jupyter, plain text otherwise."""

    chapter: str
    rows: tuple[Assessment, ...]

    #: The header of the Markdown table.
    HEADER = "| claim | paper | measured | rule | verdict |"

    @property
    def drifted(self) -> list[Assessment]:
        """The rows whose verdict differs from the declared one."""
        return [r for r in self.rows if r.drifted]

    def _repr_markdown_(self) -> str:
        lines = [self.HEADER, "| --- | --- | --- | --- | --- |"]
        for r in self.rows:
            cells = (r.claim.statement, r.claim.paper_shown, r.measured.text, r.claim.rule.describe(),
                     f"**{r.verdict_shown}**")
            lines.append("| " + " | ".join(map(table_cell, cells)) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        width = min(60, max(len(r.claim.statement) for r in self.rows))
        paper = max(len("paper"), *(len(r.claim.paper_shown) for r in self.rows))
        lines = [f"claims of {self.chapter}", f"{'claim':<{width}}  {'paper':<{paper}}  verdict"]
        for r in self.rows:
            statement = _short(r.claim.statement, width)
            lines.append(f"{statement:<{width}}  {r.claim.paper_shown:<{paper}}  {r.verdict_shown}")
            lines.append(f"    measured: {r.measured.text}")
            lines.append(f"    rule:     {r.claim.rule.describe()}")
        return "\n".join(lines)

    __str__ = __repr__


def record(chapter: str) -> ClaimsTable:
    """Measure the claims of ``chapter`` and return them as a table (the last line of each chapter).

    Shown in Jupyter as a Markdown table (claim | paper | measured | rule | verdict), as
    plain text by ``print``/``repr``. A verdict that differs from the one the ledger
    declares says so in its cell.

    Args:
        chapter: the chapter's file stem, e.g. ``"01_architecture"``.

    Raises:
        ValueError: a chapter that shows no claim (the message lists those that do).

    Example:
        >>> print(record("01_architecture"))  # doctest: +SKIP
        claims of 01_architecture
        claim                                    paper    verdict
        A 572×572 input tile gives an output map of  388×388  reproduced
        ...
    """
    if not isinstance(chapter, str) or chapter not in chapters():
        raise ValueError(f"unknown chapter {chapter!r}: the chapters with claims are {', '.join(chapters())} "
                         "(pass the notebook's file stem)")
    rows = tuple(assess(c) for c in claims_of(chapter))
    return ClaimsTable(chapter, rows)
