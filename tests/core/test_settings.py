from __future__ import annotations

import site
from pathlib import Path

import pytest
from pydantic import ValidationError

from openai_image_mcp.core.settings import Settings


def test_original_environment_variables_are_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abc")
    monkeypatch.setenv("MCP_MAX_SESSIONS", "7")
    monkeypatch.setenv("MCP_SESSION_TIMEOUT", "12.5")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_IMAGE_MCP_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("OPENAI_IMAGE_MCP_IMAGE_MODEL", "gpt-image-1.5")
    s = Settings()
    assert s.api_key == "sk-abc"
    assert s.max_sessions == 7
    assert s.session_timeout == 12.5
    assert s.log_level == "DEBUG"
    assert s.openai_base_url == "http://127.0.0.1:9/v1"
    assert s.workspace == tmp_path.resolve()
    assert s.image_model == "gpt-image-1.5"


def test_default_workspace_is_a_per_user_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    ws = Settings().workspace
    assert ws != tmp_path.resolve()
    assert "openai-image-mcp" in ws.parts
    for sp in site.getsitepackages():
        assert not ws.is_relative_to(sp)


def test_key_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    assert "sk-very-secret-value" not in repr(Settings())


@pytest.mark.parametrize(
    ("name", "value"), [("MCP_MAX_SESSIONS", "0"), ("MCP_SESSION_TIMEOUT", "-1"), ("LOG_LEVEL", "LOUD")]
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
