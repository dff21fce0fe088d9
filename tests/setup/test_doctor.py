"""``doctor``'s checks against the fake OpenAI and real folders: every problem is found, and says what to do."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup import local_checks
from openai_image_mcp.setup.context import DoctorContext, mask_key
from openai_image_mcp.setup.doctor import CHECKS, run_checks
from openai_image_mcp.setup.openai_checks import VERIFY_URL, shutdown_date
from openai_image_mcp.setup.report import Finding, to_json, to_text
from openai_image_mcp.store.sqlite import SqliteStateStore
from openai_image_mcp.store.sqlite.migrations import MIGRATIONS
from tests.conftest import TEST_KEY
from tests.support.fake_openai import FakeOpenAI

TODAY = date(2026, 11, 30)


async def doctor(settings: Settings, today: date = TODAY) -> dict[str, Finding]:
    findings = await run_checks(settings, today=today)
    names = [f.name for f in findings]
    assert len(names) == len(set(names)), names
    text = to_json(findings) + to_text(findings, header="")
    assert TEST_KEY not in text  # never the key, whatever happened
    for f in findings:
        assert (f.fix is None) == (f.status == "ok"), f  # a problem always says what to do
    return {f.name: f for f in findings}


def with_(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


# ---- all well --------------------------------------------------------------------------------------------------------


async def test_a_good_installation_passes_every_check(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(settings)
    assert list(found) == [
        "api_key",
        "openai_api",
        "image_model",
        "model_lifecycle",
        "workspace",
        "disk_space",
        "state_store",
        "blob_store",
        "input_folders",
    ]
    assert {n: f.status for n, f in found.items() if n != "disk_space"} == dict.fromkeys(
        set(found) - {"disk_space"}, "ok"
    )
    assert found["api_key"].message == f"set ({mask_key(TEST_KEY)}), accepted by OpenAI"
    assert mask_key(TEST_KEY) == "sk-..." + TEST_KEY[-4:]
    assert "gpt-image-2 (image model): no shutdown announced" in found["model_lifecycle"].message
    assert [r.path for r in fake.requests] == ["/v1/models", "/v1/models/gpt-image-2"]  # nothing billed
    assert all(r.headers["authorization"] == f"Bearer {TEST_KEY}" for r in fake.requests)


async def test_the_organisation_and_project_are_sent(settings: Settings, fake: FakeOpenAI) -> None:
    await doctor(with_(settings, openai_org_id="org-123", openai_project_id="proj_456"))
    headers = fake.requests[0].headers
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-123", "proj_456")


# ---- the key and the API ---------------------------------------------------------------------------------------------


async def test_no_key(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, openai_api_key=None))
    assert found["api_key"].status == "fail"
    assert "OPENAI_API_KEY is not set" in found["api_key"].message
    assert "env block" in (found["api_key"].fix or "") and "openai-image-mcp install" in (found["api_key"].fix or "")
    assert not {"openai_api", "image_model", "model_lifecycle"} & set(found)
    assert fake.requests == []


async def test_a_wrong_or_revoked_key(settings: Settings, fake: FakeOpenAI) -> None:
    fake.invalid_keys.add(TEST_KEY)
    found = await doctor(settings)
    key = found["api_key"]
    assert key.status == "fail" and "the key is wrong or revoked" in key.message
    assert "https://platform.openai.com/api-keys" in (key.fix or "") and "OPENAI_API_KEY" in (key.fix or "")
    assert mask_key(TEST_KEY) in key.message
    assert "image_model" not in found


async def test_an_unreachable_base_url(settings: Settings, fake: FakeOpenAI, closed_port_url: str) -> None:
    found = await doctor(with_(settings, openai_base_url=closed_port_url))
    assert found["api_key"].status == "warn" and "not verified" in found["api_key"].message
    api = found["openai_api"]
    assert api.status == "fail" and f"cannot reach {closed_port_url}" in api.message
    assert "OPENAI_BASE_URL" in (api.fix or "") and "network" in (api.fix or "")


async def test_a_base_url_that_is_not_the_api(settings: Settings, fake: FakeOpenAI) -> None:
    without_v1 = fake.base_url.removesuffix("/v1")
    found = await doctor(with_(settings, openai_base_url=without_v1))
    assert found["openai_api"].status == "fail" and "404" in found["openai_api"].message
    assert "/v1" in (found["openai_api"].fix or "")


async def test_a_server_error_is_a_warning(settings: Settings, fake: FakeOpenAI) -> None:
    fake.enqueue_error(503, message="The engine is currently overloaded.", type="server_error", path="/models")
    found = await doctor(settings)
    assert found["openai_api"].status == "warn" and "503" in found["openai_api"].message
    assert "status.openai.com" in (found["openai_api"].fix or "")


async def test_an_exhausted_quota(settings: Settings, fake: FakeOpenAI) -> None:
    fake.enqueue_error(429, code="insufficient_quota", message="You exceeded your current quota.", path="/models")
    found = await doctor(settings)
    assert found["api_key"].status == "fail" and "quota" in found["api_key"].message
    assert "billing" in (found["api_key"].fix or "")


# ---- the image model -------------------------------------------------------------------------------------------------


async def test_an_unverified_organisation(settings: Settings, fake: FakeOpenAI) -> None:
    fake.unverified_models.add("gpt-image-2")
    found = await doctor(settings)
    image = found["image_model"]
    assert image.status == "fail" and "must be verified" in image.message
    assert VERIFY_URL in (image.fix or "") and "Verify Organization" in (image.fix or "")
    assert "15 minutes" in (image.fix or "")


async def test_an_image_model_the_key_cannot_see(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, image_model="gpt-image-9"))
    image = found["image_model"]
    assert image.status == "fail" and "404" in image.message
    assert "OPENAI_IMAGE_MCP_IMAGE_MODEL" in (image.fix or "") and "gpt-image-1.5, gpt-image-2" in (image.fix or "")


async def test_another_403_for_the_image_model(settings: Settings, fake: FakeOpenAI) -> None:
    fake.enqueue_error(
        403, message="Project proj_x does not have access to model gpt-image-2", path="/models/gpt-image-2"
    )
    found = await doctor(settings)
    assert found["image_model"].status == "fail" and "does not have access" in found["image_model"].message
    assert "Model usage" in (found["image_model"].fix or "")


# ---- the models' lifecycle -------------------------------------------------------------------------------------------


async def test_a_shut_down_image_model_fails(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, image_model="gpt-image-1"), today=date(2026, 11, 30))
    life = found["model_lifecycle"]
    assert life.status == "fail" and "gpt-image-1 (image model) was shut down on 2026-10-23" in life.message
    assert "OPENAI_IMAGE_MCP_IMAGE_MODEL" in (life.fix or "") and "gpt-image-2" in (life.fix or "")
    assert "deprecations" in (life.fix or "")


async def test_a_shutdown_on_the_day_counts_as_done(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, image_model="gpt-image-1.5"), today=date(2026, 12, 1))
    assert found["model_lifecycle"].status == "fail"


async def test_an_announced_shutdown_warns(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, image_model="gpt-image-1-mini"), today=date(2026, 11, 1))
    life = found["model_lifecycle"]
    assert life.status == "warn" and "shuts down on 2026-12-01, in 30 days" in life.message
    found = await doctor(with_(settings, image_model="chatgpt-image-latest"), today=date(2026, 11, 30))
    assert "in 1 day" in found["model_lifecycle"].message


async def test_the_mainline_model_is_checked_too(settings: Settings, fake: FakeOpenAI) -> None:
    found = await doctor(with_(settings, mainline_model="gpt-0-missing"))
    life = found["model_lifecycle"]
    assert life.status == "warn" and "gpt-0-missing (mainline model) is not among" in life.message
    assert "OPENAI_IMAGE_MCP_MAINLINE_MODEL" in (life.fix or "")
    fake.models["gpt-5.4-mini"]["shutdown_date"] = "2026-01-31"
    found = await doctor(settings)
    assert found["model_lifecycle"].status == "fail" and "gpt-5.4-mini (mainline model) was shut down" in (
        found["model_lifecycle"].message
    )


def test_shutdown_dates_in_the_forms_openai_uses() -> None:
    assert shutdown_date({"shutdown_date": "2026-10-23"}) == date(2026, 10, 23)
    assert shutdown_date({"shutdown_date": "2026-10-23T00:00:00Z"}) == date(2026, 10, 23)
    assert shutdown_date({"shutdown_date": 1_792_713_600}) == date(2026, 10, 23)
    assert shutdown_date({"shutdown_date": None}) is None
    assert shutdown_date({"shutdown_date": "soon"}) is None
    assert shutdown_date(None) is None


# ---- the workspace and the stores ------------------------------------------------------------------------------------


async def test_a_missing_workspace_that_can_be_made_is_fine_and_left_alone(settings: Settings) -> None:
    assert not settings.workspace.exists()
    found = await doctor(settings)
    assert found["workspace"].status == "ok" and "can be created" in found["workspace"].message
    assert not settings.workspace.exists() and not settings.workspace.parent.joinpath(".doctor-probe").exists()


async def test_a_workspace_under_a_file_cannot_be_made(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found = await doctor(with_(settings, workspace=blocker / "workspace"))
    ws = found["workspace"]
    assert ws.status == "fail" and f"{blocker} is a file" in ws.message
    assert "OPENAI_IMAGE_MCP_WORKSPACE" in (ws.fix or "")


async def test_a_workspace_that_is_a_file(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found = await doctor(with_(settings, workspace=blocker))
    assert found["workspace"].status == "fail" and "is a file, not a folder" in found["workspace"].message


async def test_a_read_only_workspace(settings: Settings) -> None:
    ws = settings.workspace
    ws.mkdir()
    ws.chmod(0o500)
    try:
        probe = ws / "can-i-write"
        try:
            probe.write_text("x")
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("this user writes into a 0500 folder anyway (root ignores permissions)")
        found = await doctor(settings)
    finally:
        ws.chmod(0o700)
    assert found["workspace"].status == "fail" and "is not writable" in found["workspace"].message
    assert "chmod u+rwx" in (found["workspace"].fix or "")
    assert list(ws.iterdir()) == []


async def test_an_existing_workspace_gets_a_probe_that_is_removed(settings: Settings) -> None:
    settings.workspace.mkdir()
    found = await doctor(settings)
    assert found["workspace"].message.endswith("exists and is writable")
    assert list(settings.workspace.iterdir()) == []


async def test_low_disk_space_warns(settings: Settings) -> None:
    ctx = DoctorContext(settings, TODAY, low_disk_bytes=10**18)
    (finding,) = local_checks.disk_space(ctx)
    assert finding.status == "warn" and finding.message.startswith("only ")
    assert "OPENAI_IMAGE_MCP_WORKSPACE" in (finding.fix or "")


async def test_a_healthy_database(settings: Settings) -> None:
    store = SqliteStateStore(settings.database_path)
    await store.open()
    await store.close()
    found = await doctor(settings)
    latest = MIGRATIONS[-1][0]
    assert found["state_store"].status == "ok"
    assert f"integrity ok, schema version {latest}" in found["state_store"].message


async def test_a_corrupt_database(settings: Settings) -> None:
    settings.workspace.mkdir()
    settings.database_path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    found = await doctor(settings)
    state = found["state_store"]
    assert state.status == "fail" and "is damaged" in state.message
    assert "state.sqlite3" in (state.fix or "") and ".recover" in (state.fix or "")
    assert settings.database_path.read_bytes().startswith(b"this is not")  # looked at, not touched


async def test_a_database_that_fails_the_integrity_check(settings: Settings) -> None:
    settings.workspace.mkdir()
    conn = sqlite3.connect(settings.database_path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("CREATE INDEX t_x ON t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"row {i}",) for i in range(100)])
    conn.commit()
    conn.execute("PRAGMA writable_schema = ON")  # forget the index: its page is left orphaned
    conn.execute("DELETE FROM sqlite_master WHERE name = 't_x'")
    conn.commit()
    conn.close()
    found = await doctor(settings)
    state = found["state_store"]
    assert state.status == "fail" and "failed SQLite's integrity check" in state.message
    assert "is never used" in state.message and "move state.sqlite3" in (state.fix or "")


async def test_a_database_with_scribbled_pages(settings: Settings) -> None:
    settings.workspace.mkdir()
    conn = sqlite3.connect(settings.database_path)
    conn.execute("PRAGMA page_size = 512")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("CREATE INDEX t_x ON t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"row {i}" * 20,) for i in range(400)])
    conn.commit()
    conn.close()
    data = bytearray(settings.database_path.read_bytes())
    data[-3000:-2000] = b"\xff" * 1000  # scribble over index and table pages
    settings.database_path.write_bytes(bytes(data))
    found = await doctor(settings)
    assert found["state_store"].status == "fail" and "malformed" in found["state_store"].message


async def test_an_images_folder_that_is_a_file(settings: Settings) -> None:
    settings.workspace.mkdir()
    settings.images_root.write_text("oops")
    found = await doctor(settings)
    assert found["blob_store"].status == "fail" and "is a file" in found["blob_store"].message


# ---- input folders and HTTP settings ---------------------------------------------------------------------------------


async def test_a_missing_allowed_folder(settings: Settings, tmp_path: Path) -> None:
    present = tmp_path / "photos"
    present.mkdir()
    missing = tmp_path / "does-not-exist"
    found = await doctor(with_(settings, allowed_input_dirs=f"{present}{os.pathsep}{missing}"))
    folders = found["input_folders"]
    assert folders.status == "fail"
    assert f"{present} is readable" in folders.message and f"{missing} does not exist" in folders.message
    assert "OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS" in (folders.fix or "")


async def test_readable_allowed_folders(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    found = await doctor(with_(settings, allowed_input_dirs=str(tmp_path / "a")))
    assert found["input_folders"].status == "ok"


async def test_http_settings_are_checked_only_when_set(settings: Settings, tmp_path: Path) -> None:
    assert "http_settings" not in await doctor(settings)
    tokens = tmp_path / "tokens"
    found = await doctor(with_(settings, tokens_file=tokens))
    assert found["http_settings"].status == "warn" and "does not exist yet" in found["http_settings"].message
    assert "openai-image-mcp token add" in (found["http_settings"].fix or "")
    tokens.write_text("alice not-a-hash\n")
    found = await doctor(with_(settings, tokens_file=tokens))
    assert found["http_settings"].status == "fail" and "line 1" in found["http_settings"].message
    tokens.write_text(f"alice {'a' * 64} images:read\n")
    found = await doctor(with_(settings, tokens_file=tokens))
    assert found["http_settings"].status == "ok" and "1 token(s) for alice" in found["http_settings"].message


async def test_oauth_without_a_public_url_warns(settings: Settings) -> None:
    found = await doctor(with_(settings, oauth_issuer="https://auth.example.com/"))
    http = found["http_settings"]
    assert http.status == "warn" and "OPENAI_IMAGE_MCP_PUBLIC_URL is not set" in http.message
    assert "OPENAI_IMAGE_MCP_PUBLIC_URL" in (http.fix or "")
    found = await doctor(
        with_(settings, oauth_issuer="https://auth.example.com/", public_url="https://img.example.com/mcp")
    )
    assert found["http_settings"].status == "ok"
    found = await doctor(with_(settings, public_url="img.example.com"))
    assert found["http_settings"].status == "fail" and "not an http(s) URL" in found["http_settings"].message


# ---- the runner and the report ---------------------------------------------------------------------------------------


async def test_a_check_that_breaks_is_reported_and_the_others_still_run(settings: Settings) -> None:
    async def check_boom(ctx: DoctorContext) -> list[Finding]:
        raise RuntimeError("kaput")

    findings = await run_checks(settings, checks=[check_boom, *CHECKS[3:5]])
    assert findings[0] == Finding("boom", "fail", "the check itself failed: RuntimeError: kaput", findings[0].fix)
    assert [f.name for f in findings[1:]] == ["workspace", "disk_space"]


def test_the_reports() -> None:
    findings = [
        Finding("a", "ok", "fine"),
        Finding("b", "warn", "hmm", "do this"),
        Finding("c", "fail", "broken", "do that"),
    ]
    doc = json.loads(to_json(findings))
    assert doc == {"checks": [asdict(f) for f in findings], "ok": False}
    text = to_text(findings, header="H")
    assert text.splitlines() == [
        "H",
        "✓ a: fine",
        "! b: hmm",
        "    -> do this",
        "✗ c: broken",
        "    -> do that",
        "1 check(s) failed, 1 warning(s): fix the failures above, then run doctor again.",
    ]
    assert "X c: broken" in to_text(findings, header="H", encoding="ascii")
    assert json.loads(to_json(findings[:2]))["ok"] is True


async def test_a_password_in_the_base_url_is_not_shown(settings: Settings, closed_port_url: str) -> None:
    url = closed_port_url.replace("http://", "http://me:hunter2@")
    findings = await run_checks(with_(settings, openai_base_url=url))
    text = to_json(findings)
    assert "hunter2" not in text and closed_port_url.replace("http://", "http://me:***@") in text
