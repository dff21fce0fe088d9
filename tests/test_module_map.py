"""The README's module map names every layer package and every module in it."""

from __future__ import annotations

import re
from pathlib import Path

import openai_image_mcp

SRC = Path(openai_image_mcp.__file__).parent
README = (SRC.parent.parent / "README.md").read_text()


def module_map() -> str:
    section = README[README.index("## Development") :]
    block = re.search(r"```\n(src/openai_image_mcp/.*?)```", section, re.S)
    assert block is not None, "README's Development section has no module map"
    return block.group(1)


def test_every_module_is_on_the_map() -> None:
    text = module_map()
    words = set(re.findall(r"[A-Za-z_]+(?:\.py|\.md)?", text))
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        if path.name not in words and path.stem not in words:
            missing.append(str(path.relative_to(SRC)))
    assert missing == []


def test_every_layer_package_is_on_the_map() -> None:
    text = module_map()
    packages = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert packages == ["core", "imaging", "providers", "service", "setup", "store", "studio", "tools", "web"]
    for name in packages:
        assert re.search(rf"^\s+{name}/", text, re.M), name
