"""The package's layout rules: small modules, figure code only in plotting, the network knows no data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "unet_tutorial"
NUMERICAL = ["model", "augment", "weights", "losses", "inference", "metrics", "data", "config", "checkpoint",
             "train", "history", "experiments", "baseline", "predict", "_checks", "exercises", "mirror", "cache",
             "validation"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600, f"{path.name}: split it along the paper's ideas"


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_numerical_modules_do_not_import_matplotlib():
    modules = _imported_after("; ".join(f"import unet_tutorial.{m}" for m in NUMERICAL))
    assert "matplotlib" not in modules


def test_the_network_knows_no_data_and_no_training():
    modules = _imported_after("import unet_tutorial.model")
    own = {m for m in modules if m.startswith("unet_tutorial.")}
    # the package's __init__ brings the device policy (hardware: machine facts, no data, no training);
    # since2015 gives the blocks their optional normalisation layers (torch.nn only)
    assert own <= {"unet_tutorial.model", "unet_tutorial._checks", "unet_tutorial.protocol",
                   "unet_tutorial.hardware", "unet_tutorial.since2015"}, own


def test_prediction_needs_no_trainer():
    modules = _imported_after("import unet_tutorial.inference, unet_tutorial.predict")
    assert not {"unet_tutorial.train", "unet_tutorial.config", "unet_tutorial.data"} & modules


# --------------------------------------------------------------------------
# Seams: who may import whom (read from the source, lazy imports included)
# --------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[str, list[str]]]:
    """``(imported module, imported names)`` of every ``import``/``from … import`` of a package file."""
    import ast

    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".") if path.name == "__init__.py" else _module_name(path).split(".")[:-1]
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("unet_tutorial")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("unet_tutorial"):
                names = [a.name for a in node.names]
                # `from . import x` imports the submodule x
                subs = [f"{module}.{n}" for n in names if (PACKAGE.parent / f"{module}.{n}".replace(".", "/")).exists()
                        or (PACKAGE.parent / (f"{module}.{n}".replace(".", "/") + ".py")).exists()]
                out += [(m, []) for m in subs] or [(module, names)]
    return out


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_no_private_name_crosses_a_module_boundary():
    crossing = [f"{_module_name(p)} imports {n} from {m}" for p in SOURCES for m, names in _imports(p)
                for n in names if n.startswith("_") and not n.startswith("__")]
    assert not crossing, "make these public or move them where they are used:\n" + "\n".join(crossing)


@pytest.mark.parametrize("importer, forbidden", [
    ("unet_tutorial.data", ("unet_tutorial.predict", "unet_tutorial.train", "unet_tutorial.experiments")),
    ("unet_tutorial.predict", ("unet_tutorial.train", "unet_tutorial.experiments")),
    ("unet_tutorial.export", ("unet_tutorial.train", "unet_tutorial.experiments")),
    ("unet_tutorial.inference", ("unet_tutorial.train", "unet_tutorial.experiments", "unet_tutorial.data")),
    ("unet_tutorial.model", ("unet_tutorial.data", "unet_tutorial.train", "unet_tutorial.inference")),
])
def test_import_rules(importer, forbidden):
    bad = [f"{_module_name(p)} imports {m}" for p in SOURCES if _module_name(p).startswith(importer)
           for m, _ in _imports(p) if m.startswith(forbidden)]
    assert not bad, "\n".join(bad)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module → modules it imports), or ``None``."""
    # a package imports its own submodules in __init__: edges into the package itself are not cycles
    graph = {a: {b for b in bs if b in graph and not a.startswith(b + ".") and b != a} for a, bs in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    """Module-level imports form no cycle (an import inside a function is a deliberate, lazy one)."""
    cycle = _cycle({_module_name(p): {m for m, _ in _imports(p, top_level_only=True)} for p in SOURCES})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_inside_data_even_through_lazy_imports():
    """The data package is a clean layer: its modules' imports, those inside functions included, form no cycle."""
    data = [p for p in SOURCES if _module_name(p).startswith("unet_tutorial.data.")]
    cycle = _cycle({_module_name(p): {m for m, _ in _imports(p)} for p in data})
    assert cycle is None, "import cycle in unet_tutorial.data: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"p": {"p.x"}, "p.x": {"p"}}) is None  # a package importing its submodule


def test_checks_hold_validation_only():
    """_checks is the package's one validator: what is not a check lives in the module of its idea
    (mirroring in mirror.py, the cache folder in cache.py, the device policy in hardware.py)."""
    import unet_tutorial._checks as checks

    others = [n for n in checks.__all__ if not n.startswith("check_") and n not in ("as_unit_float", "one_line")]
    assert not others, f"not validation, move them where they belong: {others}"
