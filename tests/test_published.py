"""The output schemas the server publishes from output_schemas.json are the ones the models derive."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from pydantic import Field

import openai_image_mcp.tools as tools
from openai_image_mcp.config import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.tools import published
from openai_image_mcp.tools.schemas import ImageOut, ToolOutput

REFRESH = "the output models changed: run ./scripts/refresh-schemas and commit output_schemas.json"


def _file() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files("openai_image_mcp.tools").joinpath(published.FILE_NAME).read_text())
    return loaded


async def _output_schemas(settings: Settings) -> dict[str, dict[str, Any] | None]:
    async with Client(create_server(settings)) as client:
        listed = await client.list_tools()
    return {tool.name: tool.output_schema for tool in listed.tools}


def test_the_file_matches_the_models() -> None:
    assert published.derive(tools.output_models()) == _file(), REFRESH


def test_every_output_model_is_published_without_refs() -> None:
    file = _file()
    assert sorted(file) == sorted(m.__name__ for m in tools.output_models())
    assert "$ref" not in json.dumps(file) and "$defs" not in json.dumps(file)


async def test_tools_list_publishes_what_the_sdk_would_derive(settings: Settings) -> None:
    served = await _output_schemas(settings)
    with published.live():
        derived = await _output_schemas(settings)
    assert served.keys() == derived.keys()
    for name, schema in derived.items():
        assert schema is not None, f"{name} has no output schema"
        assert served[name] == published.inline_refs(schema), name


def test_a_model_missing_from_the_file_is_derived_live() -> None:
    class NotInTheFile(ToolOutput):
        images: list[ImageOut] = Field(default_factory=list)

    schema = NotInTheFile.model_json_schema()
    assert schema["title"] == "NotInTheFile"
    assert schema["properties"]["images"]["items"] == {"$ref": "#/$defs/ImageOut"}
    assert published.inline_refs(schema)["properties"]["images"]["items"]["title"] == "ImageOut"


def test_a_recursive_model_cannot_be_inlined() -> None:
    schema = {"$defs": {"Node": {"properties": {"next": {"$ref": "#/$defs/Node"}}}}, "$ref": "#/$defs/Node"}
    with pytest.raises(ValueError, match="recursive"):
        published.inline_refs(schema)


def test_the_file_ships_with_the_package() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f"tools/{published.FILE_NAME}" in pyproject
