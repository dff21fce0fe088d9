"""Guards on the shape of the package: cheap imports, small modules, no print, a small public surface."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import openai_image_mcp

SRC = Path(openai_image_mcp.__file__).parent


def test_starting_the_server_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, tempfile; from pathlib import Path;"
        "from openai_image_mcp.core.settings import Settings; from openai_image_mcp.server import create_server;"
        "create_server(Settings(workspace=Path(tempfile.mkdtemp())));"
        "print(sorted(m for m in ('openai', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_modules_stay_small() -> None:
    big = {p.name: n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}


def test_no_print_in_the_package() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, path


def test_public_surface() -> None:
    assert sorted(openai_image_mcp.__all__) == ["Settings", "__version__", "create_server", "main"]
    for name in openai_image_mcp.__all__:
        assert getattr(openai_image_mcp, name) is not None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(nodes: list[ast.AST]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported: at module level, also inside
    module-level ``if``/``try``/``with`` blocks and class bodies, but not inside functions nor under
    ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            found += _import_time_statements(list(node.orelse))
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            blocks = ast.stmt | ast.excepthandler | ast.match_case
            found += _import_time_statements([c for c in ast.iter_child_nodes(node) if isinstance(c, blocks)])
    return found


def import_time_graph(src: Path, package: str) -> dict[str, dict[str, int]]:
    """Module -> {first-party module it imports at import time: line number}. Like grimp,
    ``from p import n`` points at ``p.n`` when that is a module and at ``p`` otherwise; the parent
    packages that Python initialises on the way are not edges."""
    paths = {}
    for path in (src / package).rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, dict[str, int]] = {}
    for module, path in sorted(paths.items()):
        edges = graph[module] = {}
        package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in _import_time_statements(list(ast.parse(path.read_text(), str(path)).body)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                origin = node.module or ""
                if node.level:  # from .x import y / from .. import y
                    anchor = package_parts[: len(package_parts) - node.level + 1]
                    origin = ".".join([*anchor, *([origin] if origin else [])])
                targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in paths else origin for a in node.names]
            for target in targets:
                while target and target not in paths:  # third-party, or a first-party name not a module
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[str]:
    """One cycle through each set of modules that import each other: 'a (l.3) -> b (l.7) -> a',
    where l. is the line of the import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = {stack.pop()}
            while node not in component:
                component.add(stack.pop())
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for component in (c for c in components if len(c) > 1):
        start = min(component)
        came_from, queue = {start: start}, [start]  # shortest way back to start, inside the component
        for here in queue:
            if start in graph[here]:
                break
            for target in sorted(graph[here]):
                if target in component and target not in came_from:
                    came_from[target] = here
                    queue.append(target)
        path = [here]
        while path[-1] != start:
            path.append(came_from[path[-1]])
        path = [*reversed(path), start]
        cycles.append(" -> ".join(f"{a} (l.{graph[a][b]})" for a, b in itertools.pairwise(path)) + f" -> {start}")
    return sorted(cycles)


def test_no_import_cycle_at_import_time() -> None:
    graph = import_time_graph(SRC.parent, "openai_image_mcp")
    assert sum(map(len, graph.values())) > len(graph) // 2, "the import graph came out (nearly) empty"
    assert import_cycles(graph) == []


def test_the_cycle_finder_counts_only_import_time_imports(tmp_path: Path) -> None:
    files = {
        "__init__.py": "def __getattr__(name):\n    from demo import face\n",
        "face.py": "from typing import TYPE_CHECKING\nfrom . import low\nif TYPE_CHECKING:\n    from demo import a\n",
        "a/__init__.py": "",
        "a/one.py": "import os\ntry:\n    from ..b import two\nexcept ImportError:\n    two = None\n",
        "b/__init__.py": "from demo.b.two import X\n",
        "b/two.py": "X = 1\nclass C:\n    from demo.a import one\n",
        "low.py": "import demo\nfrom demo import face as f\n\ndef lazy():\n    from demo.a import one\n",
    }
    for name, text in files.items():
        (tmp_path / "demo" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "demo" / name).write_text(text)
    graph = import_time_graph(tmp_path, "demo")
    assert graph["demo"] == {}  # the lazy import in __getattr__ is not counted
    assert graph["demo.face"] == {"demo.low": 2}  # nor is the TYPE_CHECKING one
    assert graph["demo.a.one"] == {"demo.b.two": 3}  # relative, inside try
    assert graph["demo.b.two"] == {"demo.a.one": 3}  # a class body runs at import time
    assert graph["demo.low"] == {"demo": 1, "demo.face": 2}
    assert import_cycles(graph) == [
        "demo.a.one (l.3) -> demo.b.two (l.3) -> demo.a.one",
        "demo.face (l.2) -> demo.low (l.2) -> demo.face",
    ]
