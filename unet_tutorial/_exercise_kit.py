"""The tools of :mod:`unet_tutorial.exercises`: showing source code, and check reports.

- :func:`show_source` / :class:`SourceCode`: the package's own code, as a chapter shows it.
- :class:`CheckReport`: what a checker found; ``CheckRun`` collects the checks of one
  checker and turns the reader's exceptions into messages (``run_check``).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds unet_tutorial/

# --------------------------------------------------------------------------
# Showing the package's code
# --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SourceCode:
    """Source code for a notebook: plain text, or a fenced Markdown block (highlighted)."""

    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        fence = "```"
        while fence in self.text:
            fence += "`"
        return f"{fence}python\n{self.text}\n{fence}"


def _unwrap(obj: Any) -> Any:
    """The function or class behind a property, bound, class or static method."""
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
        obj = obj.__func__
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return obj
    if inspect.ismodule(obj):
        kind = f"the module {obj.__name__} (pass one of its functions or classes)"
    elif inspect.isbuiltin(obj) or inspect.isroutine(obj):
        kind = f"{getattr(obj, '__name__', obj)!r}, a built-in without Python source"
    else:
        kind = (f"an instance of {type(obj).__name__} "
                f"(pass the class {type(obj).__name__}, not an object made from it)")
    raise TypeError(f"show_source shows functions, classes and methods; got {kind}")


def _numbered_source(obj: Any) -> tuple[list[tuple[int, str]], str]:
    """``[(line number in the file, line)]`` of ``obj``'s source, and the header label."""
    name = getattr(obj, "__qualname__", repr(obj))
    try:
        lines, first = inspect.getsourcelines(obj)
        path = Path(inspect.getsourcefile(obj) or "").resolve()
    except (OSError, TypeError) as err:
        raise TypeError(f"no source code found for {name}: {err}") from None
    try:
        where = path.relative_to(_ROOT).as_posix()
    except ValueError:
        where = path.name
    first = max(first, 1)  # 0 for a module-level object
    return [(first + i, line.rstrip("\n")) for i, line in enumerate(lines)], f"{where}, {name}"


def _strip_docstring(numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``numbered`` without the object's first docstring (``...`` if nothing else is left)."""
    try:
        node = ast.parse(textwrap.dedent("\n".join(line for _, line in numbered))).body[0]
    except (SyntaxError, IndexError):  # e.g. a lambda inside a longer line
        return numbered
    body = getattr(node, "body", None)
    if not body or not isinstance(body[0], ast.Expr):
        return numbered
    doc = body[0]
    if not isinstance(doc.value, ast.Constant) or not isinstance(doc.value.value, str):
        return numbered
    if doc.lineno == node.lineno:  # a one-line `def f(): "doc"`: keep it
        return numbered
    a, b = doc.lineno - 1, doc.end_lineno or doc.lineno
    if b < len(numbered) and not numbered[b][1].strip():
        b += 1  # the blank line after a class docstring goes with it
    kept = numbered[:a] + numbered[b:]
    if len(body) == 1:
        number, line = numbered[a]
        kept.insert(a, (number, line[: len(line) - len(line.lstrip())] + "..."))
    return kept


def _find(numbered: list[tuple[int, str]], text: str, begin: int, what: str, name: str) -> int:
    for k in range(begin, len(numbered)):
        if text in numbered[k][1]:
            return k
    after = " at or after the start line" if what == "stop" and begin else ""
    raise ValueError(f"{what} text {text!r} not found in the source of {name}{after}")


def show_source(
    *objects: Any, start: str | None = None, stop: str | None = None, docstring: bool = True
) -> SourceCode:
    """The source code of functions, classes or methods of the package, to show in a chapter.

    Each object's block starts with a comment naming where it comes from, e.g.
    ``# unet_tutorial/model.py, DoubleConv`` (the path relative to the folder
    that holds the package).

    Args:
        *objects: functions, classes, methods (``Up.forward``) or properties.
        start: show only the lines from the first one containing this text ...
        stop: ... to the first line at or after it containing this text (both
            included; the header then names the line numbers in the file).
            ``start``/``stop`` need a single object.
        docstring: ``False`` drops the object's own (first) docstring, keeping
            the signature and the body.

    Returns:
        A :class:`SourceCode`: ``str()`` is the plain source, and a notebook
        shows it as a highlighted ``python`` block (its ``text/markdown``).

    Raises:
        TypeError: no object, an object without Python source (a built-in, a
            module, an instance) or ``start``/``stop`` not a string.
        ValueError: ``start``/``stop`` text not found, or given with several objects.

    Examples:
        >>> from unet_tutorial.model import Up
        >>> print(show_source(Up.forward, start="skip = ", stop="return"))  # doctest: +ELLIPSIS
        # unet_tutorial/model.py, Up.forward (lines ...)
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        return self.conv(torch.cat([skip, x], dim=1))
    """
    if not objects:
        raise TypeError("show_source needs at least one function, class or method")
    for what, text in (("start", start), ("stop", stop)):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{what} must be a string (text of a line) or None, got {text!r}")
    sliced = start is not None or stop is not None
    if sliced and len(objects) > 1:
        raise ValueError(f"start/stop select lines of one object; got {len(objects)} objects")
    blocks = []
    for obj in objects:
        numbered, header = _numbered_source(_unwrap(obj))
        if not docstring:
            numbered = _strip_docstring(numbered)
        if sliced:
            name = header.split(", ", 1)[1]
            i = 0 if start is None else _find(numbered, start, 0, "start", name)
            j = len(numbered) - 1 if stop is None else _find(numbered, stop, i, "stop", name)
            numbered = numbered[i : j + 1]
            header += f" (lines {numbered[0][0]}-{numbered[-1][0]})"
        code = textwrap.dedent("\n".join(line for _, line in numbered)).rstrip()
        blocks.append(f"# {header}\n{code}")
    return SourceCode("\n\n".join(blocks))


# --------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------


@dataclass(repr=False)
class CheckReport:
    """What a checker found: ``passed``, and one message per kind of difference."""

    name: str
    passed: bool
    messages: list[str] = field(default_factory=list)
    checks: int = 0  # number of comparisons made

    def __str__(self) -> str:
        if self.passed:
            return f"✓ {self.name}: all {self.checks} checks passed"
        return "\n".join([f"✗ {self.name}: not yet"] + [f"  - {m}" for m in self.messages])

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        if self.passed:
            return f"✓ **{self.name}**: all {self.checks} checks passed"
        return "\n".join([f"✗ **{self.name}**: not yet", ""] + [f"- {m}" for m in self.messages])

    def raise_if_failed(self) -> CheckReport:
        """Raise ``AssertionError`` with the messages if the check failed; else return ``self``."""
        if not self.passed:
            raise AssertionError(str(self))
        return self


class _Stop(Exception):
    """The reader's function is not written yet (NotImplementedError): nothing more to check."""


FAILED_MARK = object()  # what CheckRun.call returns when the reader's function raised


class CheckRun:
    """Collects checks; one message per kind of problem, however many cases show it."""

    def __init__(self, name: str) -> None:
        self.name, self.checks = name, 0
        self.kinds: dict[str, list[Any]] = {}  # kind -> [first message, number of cases]

    def check(self, ok: bool, message: str | Callable[[], str] = "", kind: str = "") -> bool:
        self.checks += 1
        if not ok:
            text = message() if callable(message) else message
            key = kind or re.sub(r"\d+(×\d+)?", "#", text)  # the same problem, another case
            key = "max |difference|" if "max |difference|" in text else key
            self.kinds.setdefault(key, [text, 0])[1] += 1
        return ok

    def call(self, fn: Callable, *args: Any, where: str, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            raise _Stop from None
        except Exception as err:  # noqa: BLE001 -- the reader's code may raise anything
            text = repr(err) if len(repr(err)) <= 200 else repr(err)[:197] + "..."
            self.check(False, f"your function raised {text} {where}", kind=type(err).__name__)
            return FAILED_MARK

    def report(self) -> CheckReport:
        messages = [m if n == 1 else f"{m} (and in {n - 1} more case{'s' * (n > 2)})"
                    for m, n in self.kinds.values()]
        return CheckReport(self.name, not messages, messages, self.checks)


def run_check(name: str, body: Callable[[CheckRun, Callable], None], fn: Any) -> CheckReport:
    run = CheckRun(name)
    if not callable(fn):
        run.check(False, f"{name} needs your function, got {type(fn).__name__}")
        return run.report()
    try:
        body(run, fn)
    except _Stop:
        run.check(False, "your function raised NotImplementedError: write it, "
                  "then run this cell again")
    except Exception as err:  # noqa: BLE001 -- e.g. an output of a type nobody expected
        run.check(False, f"could not compare your function's output: {err!r}")
    return run.report()


def kind_of(value: Any) -> str:
    """What the reader's function returned, for a message: "None (...)" or "a list"."""
    return "None (is the return statement missing?)" if value is None else (
        f"a {type(value).__name__}")


def as_numpy(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it is not an array of numbers."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def size_of(h: int, w: int) -> str:
    return str(h) if h == w else f"{h}×{w}"


def close_enough(a: Any, b: Any, atol: float, rtol: float = 1e-5) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def is_array(run: CheckRun, y: Any, expected: tuple[int, ...], where: str) -> np.ndarray | None:
    """``y`` as an array if it is one of the ``expected`` shape (the check is counted)."""
    a = as_numpy(y)
    if a is None:
        run.check(False, f"your function returned {kind_of(y)}, not an array {where}",
                  "type")
    elif run.check(a.shape == expected, lambda: f"wrong output shape {where}: expected "
                   f"{expected}, got {a.shape}{_shape_hint(a.shape, expected)}", "shape"):
        return a
    return None


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) + 1 and got[0] == 1 and got[1:] == want:
        return " (remove the batch axis)"
    if len(got) == 3 == len(want) and got == want[1:] + want[:1]:
        return " (channels last: the components come first)"
    if len(got) == len(want) and got[:-2] == want[:-2] and got[-2:] == want[-2:][::-1]:
        return " (height and width swapped)"
    return ""
