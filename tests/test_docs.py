"""The README and the guide stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from mcp import Client

from openai_image_mcp.core.settings import ENV_PREFIX, Settings
from openai_image_mcp.tools.guide import read_guide

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else f"{ENV_PREFIX}{name.upper()}")
    return names


def test_readme_starts_with_the_two_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["./scripts/serve", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci


def test_configuration_table_lists_every_setting() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, re.M))
    assert documented == env_names()


async def test_tools_table_and_guide_list_every_tool(client: Client) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    section = README[README.index("## Tools") : README.index("\n## ", README.index("## Tools") + 1)]
    table = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert table == tools
    guide = read_guide()
    for name in tools:
        assert name in guide or name in {"get_usage_guide"}, name


def test_changelog_mentions_the_current_version() -> None:
    from openai_image_mcp import __version__

    assert f"[{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
