"""Map the OpenAI SDK's exceptions (and failed image calls) onto our exception tree."""

from __future__ import annotations

from typing import Any

import openai

from openai_image_mcp.core import errors

MODERATION_CODES = frozenset({"moderation_blocked", "content_policy_violation", "image_content_policy_violation"})


def _body(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    return body if isinstance(body, dict) else {}


def _moderation(details: Any) -> tuple[list[str], str | None]:
    if isinstance(details, dict):
        cats = details.get("categories") or []
        return [str(c) for c in cats], details.get("moderation_stage")
    return [], None


def content_rejected(message: str, details: Any, request_id: str | None) -> errors.ContentRejected:
    categories, stage = _moderation(details)
    text = "OpenAI's safety system rejected the request"
    if categories:
        text += f" (categories: {', '.join(categories)})"
    if stage:
        text += f" at the {stage} stage"
    text += f". OpenAI said: {message}"
    return errors.ContentRejected(text, categories=categories, stage=stage, request_id=request_id)


def map_exception(exc: BaseException) -> errors.ProviderError:
    """Translate one SDK exception into the matching :class:`errors.ProviderError`."""
    if isinstance(exc, openai.APITimeoutError):
        return errors.ProviderTimeout("OpenAI did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return errors.ProviderUnavailable(f"Could not reach OpenAI: {exc.__cause__ or exc}.")
    if not isinstance(exc, openai.APIStatusError):
        return errors.ProviderError(f"OpenAI client error: {exc}")
    body = _body(exc)
    message = str(body.get("message") or exc.message)
    code = exc.code
    rid = exc.request_id
    status = exc.status_code
    if code in MODERATION_CODES:
        return content_rejected(message, body.get("moderation_details"), rid)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return errors.ProviderAuthError(f"OpenAI refused the credentials ({status}): {message}", request_id=rid)
    if isinstance(exc, openai.RateLimitError):
        if code == "insufficient_quota":
            return errors.QuotaExceeded(f"OpenAI quota exhausted: {message}", request_id=rid)
        return errors.ProviderRateLimited(f"OpenAI rate limit reached: {message}", request_id=rid)
    if status >= 500:
        return errors.ProviderUnavailable(f"OpenAI failed ({status}): {message}", request_id=rid)
    if exc.param == "previous_response_id" or code == "previous_response_not_found":
        return errors.ChainBroken(f"OpenAI no longer has the previous response: {message}", request_id=rid)
    param = f" (parameter: {exc.param})" if exc.param else ""
    return errors.ProviderBadRequest(f"OpenAI rejected the request ({status}){param}: {message}", request_id=rid)


def failed_call_error(error: dict[str, Any] | None, request_id: str | None) -> errors.ProviderError:
    """An ``image_generation_call`` with status ``failed`` inside a 200 response."""
    data = error or {}
    message = str(data.get("message") or "the image generation call failed")
    if data.get("code") in MODERATION_CODES:
        return content_rejected(message, data.get("moderation_details"), request_id)
    return errors.ProviderError(f"OpenAI's image generation failed: {message}", request_id=request_id)


def response_error(error: dict[str, Any], request_id: str | None) -> errors.ProviderError:
    """A whole Response with status ``failed``, or an ``error`` stream event."""
    code = error.get("code")
    message = str(error.get("message") or "the response failed")
    if code in MODERATION_CODES:
        return content_rejected(message, None, request_id)
    if code == "rate_limit_exceeded":
        return errors.ProviderRateLimited(f"OpenAI rate limit reached: {message}", request_id=request_id)
    if code == "server_error":
        return errors.ProviderUnavailable(f"OpenAI failed: {message}", request_id=request_id)
    return errors.ProviderBadRequest(f"OpenAI could not complete the turn ({code}): {message}", request_id=request_id)
