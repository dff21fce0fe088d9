"""Guards on the shape of the package: cheap imports, small modules, no print, a small public surface."""

from __future__ import annotations

import ast
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
