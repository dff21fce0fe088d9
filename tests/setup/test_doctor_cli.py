"""``openai-image-mcp doctor`` as a user runs it: the real command, configured by environment variables, against the
fake OpenAI. The JSON document's shape, the human report, the exit status, and never the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.setup.conftest import cli_env, run_cli
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.subprocess

STATUSES = {"ok", "warn", "fail"}


def doctor_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = run_cli("doctor", "--json", env=env)
    assert TEST_KEY not in done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"checks", "ok"} and isinstance(doc["ok"], bool)
    for check in doc["checks"]:
        assert set(check) == {"name", "status", "message", "fix"}, check
        assert check["status"] in STATUSES and check["message"]
        assert (check["fix"] is None) == (check["status"] == "ok"), check
    assert doc["ok"] == all(c["status"] != "fail" for c in doc["checks"])
    assert done.returncode == (0 if doc["ok"] else 1), done.stderr
    return done.returncode, {c["name"]: c for c in doc["checks"]}


def env_for(fake: FakeOpenAI, workspace: Path, **extra: str) -> dict[str, str]:
    return cli_env(workspace, OPENAI_API_KEY=TEST_KEY, OPENAI_BASE_URL=fake.base_url, **extra)


def test_a_ready_installation_exits_0(fake: FakeOpenAI, workspace: Path) -> None:
    code, checks = doctor_json(env_for(fake, workspace))
    assert code == 0
    assert {n for n, c in checks.items() if c["status"] == "fail"} == set()
    assert checks["api_key"]["message"] == f"set (sk-...{TEST_KEY[-4:]}), accepted by OpenAI"
    assert checks["image_model"]["status"] == "ok"


def test_no_key_exits_1(workspace: Path) -> None:
    code, checks = doctor_json(cli_env(workspace))
    assert code == 1 and checks["api_key"]["status"] == "fail"


def test_a_bad_key_exits_1(fake: FakeOpenAI, workspace: Path) -> None:
    fake.enqueue_error(401, code="invalid_api_key", message="Incorrect API key provided.", path="/models")
    code, checks = doctor_json(env_for(fake, workspace))
    assert code == 1 and "the key is wrong or revoked" in checks["api_key"]["message"]


def test_an_unverified_organisation_exits_1(fake: FakeOpenAI, workspace: Path) -> None:
    fake.unverified_models.add("gpt-image-2")
    code, checks = doctor_json(env_for(fake, workspace))
    assert code == 1 and "must be verified" in checks["image_model"]["message"]
    assert "https://platform.openai.com/settings/organization/general" in checks["image_model"]["fix"]


def test_a_shut_down_image_model_exits_1_today(fake: FakeOpenAI, workspace: Path) -> None:
    fake.models["gpt-image-2"]["shutdown_date"] = "2001-01-01"  # long past, whatever the real date
    code, checks = doctor_json(env_for(fake, workspace))
    assert code == 1 and "was shut down on 2001-01-01" in checks["model_lifecycle"]["message"]


def test_an_announced_shutdown_is_only_a_warning(fake: FakeOpenAI, workspace: Path) -> None:
    fake.models["gpt-image-2"]["shutdown_date"] = "2999-12-31"
    code, checks = doctor_json(env_for(fake, workspace))
    assert code == 0 and checks["model_lifecycle"]["status"] == "warn"


def test_an_unreachable_base_url_exits_1(workspace: Path, closed_port_url: str) -> None:
    env = cli_env(workspace, OPENAI_API_KEY=TEST_KEY, OPENAI_BASE_URL=closed_port_url)
    code, checks = doctor_json(env)
    assert code == 1 and checks["openai_api"]["status"] == "fail"


def test_local_problems_exit_1(fake: FakeOpenAI, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = env_for(fake, blocker / "ws", OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS=str(tmp_path / "missing"))
    code, checks = doctor_json(env)
    assert code == 1
    assert checks["workspace"]["status"] == "fail" and checks["input_folders"]["status"] == "fail"


def test_settings_that_do_not_load_are_failed_checks(workspace: Path) -> None:
    env = cli_env(workspace, MCP_MAX_SESSIONS="0", OPENAI_IMAGE_MCP_PREVIEW_MAX_SIDE="huge")
    code, checks = doctor_json(env)
    assert code == 1 and list(checks) == ["settings"]
    done = run_cli("doctor", "--json", env=env)
    messages = sorted(c["message"] for c in json.loads(done.stdout)["checks"])
    assert [m.split(":")[0] for m in messages] == ["MCP_MAX_SESSIONS", "OPENAI_IMAGE_MCP_PREVIEW_MAX_SIDE"]
    assert "huge" not in done.stdout  # values are not repeated (one could be a secret)


def test_the_human_report(fake: FakeOpenAI, workspace: Path) -> None:
    fake.unverified_models.add("gpt-image-2")
    done = run_cli("doctor", env=env_for(fake, workspace, OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS="/no/such/folder"))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("openai-image-mcp ") and f"workspace {workspace}" in lines[0]
    assert f"✓ api_key: set (sk-...{TEST_KEY[-4:]}), accepted by OpenAI" in lines
    assert any(line.startswith("✗ image_model: gpt-image-2: your organisation must be verified") for line in lines)
    assert any(line.startswith("✗ input_folders: /no/such/folder does not exist") for line in lines)
    advice = lines[lines.index(next(x for x in lines if x.startswith("✗ image_model"))) + 1]
    assert advice.startswith("    -> ") and "Verify Organization" in advice
    assert lines[-1].startswith("2 check(s) failed")
    assert TEST_KEY not in done.stdout + done.stderr
