"""Reading OpenAI's final events into our own values."""

from __future__ import annotations

import pytest

from openai_image_mcp.core import errors
from openai_image_mcp.core.models import ImageOptions
from openai_image_mcp.providers.openai_responses import parse_response


def test_a_failed_response_is_mapped() -> None:
    failed = {"status": "failed", "error": {"code": "image_content_policy_violation", "message": "no"}}
    with pytest.raises(errors.ContentRejected):
        parse_response(failed, ImageOptions(), "req_1")
    with pytest.raises(errors.ProviderUnavailable):
        parse_response({"status": "failed", "error": {"code": "server_error", "message": "oops"}}, ImageOptions(), None)
