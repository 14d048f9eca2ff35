"""The one-way layers (docs/architecture.md): the import-linter contracts in
pyproject.toml are kept, they place every module, no module of webapp/ or
signing/ is in an import cycle, and a deliberately added upward import, an
import of the sandbox or a cycle breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from webapp.config import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """`lint-imports` on the tree at root, against its own pyproject.toml (no cache left behind)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


def contracts() -> list[dict]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def layers() -> list[list[str]]:
    """The layers contract's layers, highest first, each a list of modules."""
    (contract,) = [c for c in contracts() if c["type"] == "layers"]
    return [[name.strip() for name in layer.replace("|", ":").split(":")] for layer in contract["layers"]]


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_contracts_are_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_is_in_an_import_cycle():
    assert strongly_connected(grimp.build_graph("webapp", "signing", cache_dir=None)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert strongly_connected(graph) == [["a.x", "a.y"]]


def test_every_module_has_its_layer():
    """Each module is in exactly one layer, but for create_app's package and package files that import nothing."""
    graph = grimp.build_graph("webapp", cache_dir=None)
    placed = [module for layer in layers() for module in layer]
    for module in sorted(graph.modules - {"webapp"}):
        homes = [p for p in placed if module == p or module.startswith(p + ".")]
        if not homes:
            assert not graph.find_modules_directly_imported_by(module), f"{module} is in no layer but imports"
            assert graph.find_children(module), f"{module} is in no layer of pyproject.toml"
        else:
            assert len(homes) == 1, f"{module} is in layers {homes}"


def test_the_sandbox_is_the_top_layer_and_the_basics_the_bottom():
    stack = layers()
    assert stack[0] == ["webapp.sandbox"]
    assert {"webapp.clock", "webapp.models", "webapp.jobs.queue"} <= set(stack[-1])
    assert stack.index(["webapp.jobs.tasks"]) == 2


def _tree(tmp_path: Path) -> Path:
    """A copy of the code and its contracts to break."""
    root = tmp_path / "tree"
    for name in ("webapp", "signing"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


BREAKS = {
    "upward": ("webapp/clock.py", "\nfrom webapp import templating  # noqa\n", "webapp.clock -> webapp.templating"),
    "upward inside a function": (
        "webapp/sms/codes.py", "\n\ndef _dodge():\n    from webapp.requests import routes  # noqa\n",
        "webapp.sms.codes -> webapp.requests.routes",
    ),
    "domain to jobs": ("webapp/provider/inbox.py", "\nfrom webapp.jobs import tasks  # noqa\n", "webapp.provider.inbox -> webapp.jobs.tasks"),
    "production to the sandbox": (
        "webapp/signatures.py", "\n\ndef _sandbox():\n    from webapp.sandbox import pki  # noqa\n",
        "webapp.signatures -> webapp.sandbox.pki",
    ),
    "create_app from below": ("webapp/templating.py", "\nfrom webapp import create_app  # noqa\n", "webapp.templating -> webapp"),
    "signing to flask": ("signing/envelope.py", "\nimport flask  # noqa\n", "signing.envelope -> flask"),
    "a cycle in a package": (
        "webapp/history/texts.py", "\nfrom webapp.history import listing  # noqa\n", "No cycles are allowed in webapp.history",
    ),
}


@pytest.mark.parametrize("kind", BREAKS)
def test_a_deliberate_break_fails_the_contracts(tmp_path, kind):
    path, added, told = BREAKS[kind]
    root = _tree(tmp_path)
    with (root / path).open("a") as handle:
        handle.write(added)
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert told in result.stdout
