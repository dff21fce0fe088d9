"""The doctor's OpenAI checks, each one cheap (no image is drawn, nothing is billed):

* ``api_key`` and ``openai_api``: the key is set, and ``GET /models`` answers with it (401: the key is wrong or
  revoked; no connection: the network or ``OPENAI_BASE_URL``);
* ``image_model``: ``GET /models/{image model}`` (404: unknown or not for this key; 403 "must be verified": the
  organisation must be verified first);
* ``model_lifecycle``: the ``shutdown_date`` OpenAI lists for the image model and the mainline model (passed: fail;
  announced: warn), and whether the mainline model is listed at all.

The calls go through the OpenAI SDK with the configured base URL, organisation and project, without retries and
with a short timeout. The key is never printed: at most its last four characters.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup.context import DoctorContext, mask_key, redact
from openai_image_mcp.setup.report import Finding, combine, fail, ok, warn

if TYPE_CHECKING:
    from openai import AsyncOpenAI

API_KEYS_URL = "https://platform.openai.com/api-keys"
VERIFY_URL = "https://platform.openai.com/settings/organization/general"
DEPRECATIONS_URL = "https://platform.openai.com/docs/deprecations"
BILLING_URL = "https://platform.openai.com/settings/organization/billing"
STATUS_URL = "https://status.openai.com"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

_IMAGE_MODEL_PREFIXES = ("gpt-image", "chatgpt-image", "dall-e")


def _default(field: str) -> str:
    return str(Settings.model_fields[field].default)


def base_url(settings: Settings) -> str:
    return (settings.openai_base_url or DEFAULT_BASE_URL).rstrip("/")


def shown_url(url: str) -> str:
    """``url`` for a message: a password in it (``https://user:secret@proxy/v1``) becomes ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def api_message(exc: Exception, key: str | None) -> str:
    """OpenAI's own message from an SDK error (the ``error.message`` of the envelope), the key masked."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        cause = exc.__cause__
        message = f"{exc} ({cause})" if cause is not None and str(cause) else str(exc)
    return redact(message, key)


@asynccontextmanager
async def _client(ctx: DoctorContext) -> AsyncIterator[AsyncOpenAI]:
    import openai

    s = ctx.settings
    async with openai.AsyncOpenAI(
        api_key=s.api_key,
        base_url=base_url(s),
        organization=s.openai_org_id,
        project=s.openai_project_id,
        max_retries=0,
        timeout=openai.Timeout(ctx.timeout, connect=min(5.0, ctx.timeout)),
    ) as client:
        yield client


async def check_api_key(ctx: DoctorContext) -> list[Finding]:
    """``api_key`` (set? accepted?) and ``openai_api`` (does the base URL answer ``GET /models``?)."""
    import openai

    key = ctx.settings.api_key
    if not key:
        return [
            fail(
                "api_key",
                "OPENAI_API_KEY is not set: the tools that call OpenAI cannot work (the model checks are skipped).",
                f"Create a key at {API_KEYS_URL} and put it in the env block of your client's configuration "
                "('openai-image-mcp install CLIENT' prints that block), then restart the client. To check it here, "
                "run: OPENAI_API_KEY=sk-... openai-image-mcp doctor",
            )
        ]
    shown = mask_key(key)
    url = shown_url(base_url(ctx.settings))
    unverified = warn(
        "api_key", f"set ({shown}), not verified: OpenAI did not answer", "Fix openai_api below, then run doctor again."
    )
    started = time.monotonic()
    try:
        async with _client(ctx) as client:
            models = {m.id: m.model_dump() async for m in client.models.list()}
    except openai.AuthenticationError as exc:
        return [
            fail(
                "api_key",
                f"set ({shown}), but OpenAI refused it (401): the key is wrong or revoked. OpenAI said: "
                f"{api_message(exc, key)}",
                f"Create a new key at {API_KEYS_URL}, put it in OPENAI_API_KEY (in your client's configuration "
                "too) and restart the client. A key of another organisation or project fails the same way: check "
                "OPENAI_ORG_ID and OPENAI_PROJECT_ID, or unset them.",
            )
        ]
    except openai.PermissionDeniedError as exc:
        message = api_message(exc, key)
        if "permission" in message.lower() or "scope" in message.lower():
            return [
                warn(
                    "api_key",
                    f"set ({shown}) and accepted, but it may not list models (403): {message} The model checks "
                    "are skipped.",
                    "A restricted key needs at least read access to Models and write access to Responses, Images "
                    f"and Files: change its permissions at {API_KEYS_URL}, or use a key with all permissions.",
                )
            ]
        return [
            fail(
                "api_key",
                f"set ({shown}), but OpenAI refused the request (403): {message}",
                "Check the key's organisation and project (OPENAI_ORG_ID, OPENAI_PROJECT_ID) and where you call "
                "from; OpenAI's message above says why.",
            )
        ]
    except openai.APITimeoutError:
        return [
            unverified,
            fail(
                "openai_api",
                f"no answer from {url} within {ctx.timeout:g} s.",
                "Check the network connection, a proxy (HTTPS_PROXY) or firewall; if OPENAI_BASE_URL is set, check it "
                "points at a running server.",
            ),
        ]
    except openai.APIConnectionError as exc:
        return [
            unverified,
            fail(
                "openai_api",
                f"cannot reach {url}: {api_message(exc, key)}",
                "Check the network connection, a proxy (HTTPS_PROXY) or firewall. If OPENAI_BASE_URL is set, check its "
                f"scheme, host, port and /v1 path, or unset it to use {DEFAULT_BASE_URL}.",
            ),
        ]
    except openai.NotFoundError:
        return [
            unverified,
            fail(
                "openai_api",
                f"{url} answered 404 to GET /models: it does not look like the OpenAI API.",
                f"OPENAI_BASE_URL must be the API's base URL ending in /v1 ({DEFAULT_BASE_URL}, or your proxy's /v1 "
                "URL); unset it to use OpenAI directly.",
            ),
        ]
    except openai.RateLimitError as exc:
        if exc.code == "insufficient_quota":
            return [
                fail(
                    "api_key",
                    f"set ({shown}) and accepted, but the account's quota is used up: {api_message(exc, key)}",
                    f"Add credit or raise the limit at {BILLING_URL}.",
                )
            ]
        return [
            ok("api_key", f"set ({shown}), accepted by OpenAI"),
            warn("openai_api", f"{url} rate limited GET /models: {api_message(exc, key)}", "Wait a minute and retry."),
        ]
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            return [
                unverified,
                warn(
                    "openai_api",
                    f"{url} answered {exc.status_code}: {api_message(exc, key)}",
                    f"A problem on OpenAI's side (or the proxy's): see {STATUS_URL} and run doctor again later.",
                ),
            ]
        return [
            unverified,
            fail(
                "openai_api",
                f"{url} answered {exc.status_code} to GET /models: {api_message(exc, key)}",
                "Check OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID; OpenAI's message above says why.",
            ),
        ]
    ctx.api_ok = True
    ctx.models = models
    elapsed = time.monotonic() - started
    return [
        ok("api_key", f"set ({shown}), accepted by OpenAI"),
        ok("openai_api", f"{url} answered GET /models ({len(models)} models) in {elapsed:.1f} s"),
    ]


def image_models(models: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(m for m in models if m.startswith(_IMAGE_MODEL_PREFIXES))


async def check_image_model(ctx: DoctorContext) -> list[Finding]:
    """``image_model``: may this key use the configured image model? (``GET /models/{id}``, nothing billed)"""
    import openai

    if not ctx.api_ok:
        return []
    model, key = ctx.settings.image_model, ctx.settings.api_key
    setting = "OPENAI_IMAGE_MCP_IMAGE_MODEL"
    try:
        async with _client(ctx) as client:
            found = await client.models.retrieve(model)
    except openai.PermissionDeniedError as exc:
        message = api_message(exc, key)
        if "must be verified" in message.lower():
            return [
                fail(
                    "image_model",
                    f"{model}: your organisation must be verified to use this model. OpenAI said: {message}",
                    f"An owner of the organisation verifies it at {VERIFY_URL} (Verify Organization, with an ID "
                    "document). Access can take about 15 minutes to arrive after verifying; then run doctor again.",
                )
            ]
        return [
            fail(
                "image_model",
                f"{model}: this key may not use it (403). OpenAI said: {message}",
                "Allow the model in the key's project (Settings -> Project -> Limits -> Model usage), use a key of "
                f"a project that may use it, or set {setting} to a model it may use.",
            )
        ]
    except openai.NotFoundError:
        listed = ", ".join(image_models(ctx.models)) or "none"
        return [
            fail(
                "image_model",
                f"{model}: OpenAI does not know this model, or this key has no access to it (404).",
                f"Check {setting} (unset it for the default, {_default('image_model')}). Image models this key "
                f"can list: {listed}.",
            )
        ]
    except openai.APIError as exc:
        return [warn("image_model", f"could not check {model}: {api_message(exc, key)}", "Run doctor again.")]
    ctx.image_model = found.model_dump()
    return [ok("image_model", f"{model} is available to this key")]


def shutdown_date(entry: dict[str, Any] | None) -> date | None:
    """The model's ``shutdown_date`` ("YYYY-MM-DD", or a Unix time), ``None`` when none is announced."""
    value = (entry or {}).get("shutdown_date")
    try:
        if isinstance(value, str) and value:
            return date.fromisoformat(value[:10])
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).date()
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _lifecycle(model: str, role: str, entry: dict[str, Any] | None, today: date, field: str) -> Finding:
    setting = f"OPENAI_IMAGE_MCP_{field.upper()}"
    default = _default(field)
    when = shutdown_date(entry)
    instead = f" (the default is {default})" if model != default else ""
    if when is None:
        return ok("model_lifecycle", f"{model} ({role}): no shutdown announced")
    if when <= today:
        return fail(
            "model_lifecycle",
            f"{model} ({role}) was shut down on {when.isoformat()}",
            f"Set {setting} to a current model{instead}; {DEPRECATIONS_URL} names the replacements.",
        )
    days = (when - today).days
    return warn(
        "model_lifecycle",
        f"{model} ({role}) shuts down on {when.isoformat()}, in {days} day{'s' if days != 1 else ''}",
        f"Move to its successor before then: set {setting}{instead}; see {DEPRECATIONS_URL}.",
    )


async def check_lifecycle(ctx: DoctorContext) -> list[Finding]:
    """``model_lifecycle``: the shutdown dates of the image and mainline models, and whether the mainline is listed."""
    if not ctx.api_ok:
        return []
    s = ctx.settings
    parts: list[Finding] = []
    image = ctx.models.get(s.image_model) or ctx.image_model
    if image is not None:
        parts.append(_lifecycle(s.image_model, "image model", image, ctx.today, "image_model"))
    mainline = ctx.models.get(s.mainline_model)
    if mainline is None:
        parts.append(
            warn(
                "model_lifecycle",
                f"{s.mainline_model} (mainline model) is not among the {len(ctx.models)} models this key can list",
                "Check OPENAI_IMAGE_MCP_MAINLINE_MODEL (unset it for the default, "
                f"{_default('mainline_model')}); sessions and one-shot images run on it.",
            )
        )
    else:
        parts.append(_lifecycle(s.mainline_model, "mainline model", mainline, ctx.today, "mainline_model"))
    return [combine("model_lifecycle", parts)]
