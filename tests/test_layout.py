"""The package's layout as a specification: imports go one way, from later stages to earlier ones, with
no cycle (function-local and type-checking imports count too), and no module grows past 450 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "claimcluster"
MAX_LINES = 450
# Stages in pipeline order; a module may import its own stage's package and any earlier stage, never a later one.
STAGES = [
    ["errors", "_version"],
    ["_files", "_validate", "_locks"],
    ["_persist", "models"],
    ["documents"],
    ["segment"],
    ["embed", "cluster"],  # one rank: neither imports the other
    ["assertion"],
    ["gate"],
    ["judge"],
    ["claims", "index"],
    ["store"],
    ["_ray"],
    ["pipeline"],
    ["report", "serve"],
    ["cli", "training"],
    ["__init__", "__main__"],
]
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in modules and m != name}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_belongs_to_a_stage(graph):
    assert sorted({_stage(m) for m in graph} - set(RANK)) == []


def test_imports_point_from_later_stages_to_earlier_ones(graph):
    wrong = sorted(f"{source} -> {target}" for source, targets in graph.items() for target in targets
                   if _stage(source) != _stage(target) and RANK[_stage(target)] >= RANK[_stage(source)])
    assert wrong == []


def test_no_import_cycle(graph):
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_checks_see_a_cycle_and_a_wrong_way_import():
    graph = {"claimcluster.embed": {"claimcluster.store"}, "claimcluster.store": {"claimcluster.embed"}}
    assert RANK[_stage("claimcluster.embed")] < RANK[_stage("claimcluster.store")]
    with pytest.raises(AssertionError):
        test_no_import_cycle(graph)
    with pytest.raises(AssertionError):
        test_imports_point_from_later_stages_to_earlier_ones(graph)


def test_no_module_over_the_size_limit():
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_the_wheel_holds_every_module_and_shipped_file(tmp_path):
    # Editable installs read the source tree; a user's `pip install claimcluster` gets only what the wheel holds.
    import importlib.util
    import shutil
    import subprocess
    import sys
    import zipfile

    tree = tmp_path / "source"  # a copy: setuptools builds inside the tree it is given
    shutil.copytree(PACKAGE, tree / "claimcluster", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PACKAGE.parent / name, tree / name)
    # Without build isolation where setuptools is installed (no download); Python 3.12's venvs have none.
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--quiet",
                            "--wheel-dir", str(tmp_path), str(tree)], capture_output=True, text=True, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("claimcluster-*.whl")
    held = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("claimcluster/")}
    source = {path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.rglob("*")
              if path.is_file() and "__pycache__" not in path.parts}
    assert source - held == set()
