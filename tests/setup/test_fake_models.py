"""The fake's Models API (``GET /models``, ``GET /models/{id}``) and its account states, through the real SDK."""

from __future__ import annotations

import openai
import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_openai.models_api import DEFAULT_MODELS


def sdk(fake: FakeOpenAI, key: str = "sk-test-models") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=fake.base_url, max_retries=0)


async def test_the_list_carries_shutdown_dates(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        models = {m.id: m async for m in client.models.list()}
    assert set(models) == set(DEFAULT_MODELS)
    assert models["gpt-image-1"].shutdown_date == "2026-10-23"
    for name in ("gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"):
        assert models[name].shutdown_date == "2026-12-01"
    assert models["gpt-image-2"].shutdown_date is None
    assert models["gpt-image-2"].object == "model" and models["gpt-image-2"].owned_by == "system"


async def test_retrieve_knows_listed_models_and_404s_the_others(fake: FakeOpenAI) -> None:
    async with sdk(fake) as client:
        assert (await client.models.retrieve("gpt-image-2")).id == "gpt-image-2"
        with pytest.raises(openai.NotFoundError) as caught:
            await client.models.retrieve("gpt-image-9")
    assert caught.value.code == "model_not_found"


async def test_the_catalogue_is_editable_and_reset_restores_it(fake: FakeOpenAI) -> None:
    fake.models["gpt-image-2"]["shutdown_date"] = "2000-01-01"
    del fake.models["gpt-5.4-mini"]
    async with sdk(fake) as client:
        models = {m.id: m async for m in client.models.list()}
    assert models["gpt-image-2"].shutdown_date == "2000-01-01" and "gpt-5.4-mini" not in models
    fake.reset()
    assert fake.models == DEFAULT_MODELS


async def test_an_invalid_key_gets_401_everywhere(fake: FakeOpenAI) -> None:
    fake.invalid_keys.add("sk-revoked-key")
    async with sdk(fake, "sk-revoked-key") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.models.list()
    assert caught.value.code == "invalid_api_key"
    async with sdk(fake) as client:  # another key still works
        assert [m async for m in client.models.list()]


async def test_an_unverified_organisation_gets_openais_403(fake: FakeOpenAI) -> None:
    fake.unverified_models.add("gpt-image-2")
    async with sdk(fake) as client:
        with pytest.raises(openai.PermissionDeniedError) as caught:
            await client.models.retrieve("gpt-image-2")
        assert (await client.models.retrieve("gpt-image-1.5")).id == "gpt-image-1.5"
    assert "must be verified to use the model `gpt-image-2`" in caught.value.message
    assert "https://platform.openai.com/settings/organization/general" in caught.value.message


async def test_enqueue_error_reaches_the_models_routes(fake: FakeOpenAI) -> None:
    fake.enqueue_error(401, code="invalid_api_key", message="Incorrect API key provided.", path="/models")
    async with sdk(fake) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()
        assert [m async for m in client.models.list()]  # used once
