"""The Models API endpoints of the fake: ``GET /models`` and ``GET /models/{id}``, with OpenAI's ``shutdown_date``.

The catalogue is :attr:`FakeOpenAI.models <tests.support.fake_openai.FakeOpenAI>` (a copy of :data:`DEFAULT_MODELS`,
restored by ``reset()``); a test edits it to announce or pass a shutdown date, or deletes a model. A model id in
``unverified_models`` answers ``GET /models/{id}`` with OpenAI's 403 "Your organization must be verified to use the
model ..." (what an unverified organisation gets for the image models).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support.fake_openai.base import _FakeBase
from tests.support.fake_openai.helpers import ApiError, _Reply

_CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z

#: id -> model object, as OpenAI lists them (``shutdown_date``: "YYYY-MM-DD" once announced, else null).
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    model_id: {
        "id": model_id,
        "object": "model",
        "created": _CREATED,
        "owned_by": owner,
        "shutdown_date": shutdown,
    }
    for model_id, owner, shutdown in [
        ("gpt-image-2", "system", None),
        ("gpt-image-1.5", "system", "2026-12-01"),
        ("gpt-image-1", "system", "2026-10-23"),
        ("gpt-image-1-mini", "system", "2026-12-01"),
        ("chatgpt-image-latest", "system", "2026-12-01"),
        ("gpt-5.4", "system", None),
        ("gpt-5.4-mini", "system", None),
        ("gpt-5.4-nano", "system", None),
        ("gpt-4.1-mini", "system", None),
    ]
}


def verification_message(model: str) -> str:
    """OpenAI's message for an image model used by an organisation that is not verified."""
    return (
        f"Your organization must be verified to use the model `{model}`. Please go to: "
        "https://platform.openai.com/settings/organization/general and click on Verify Organization. "
        "If you just verified, it can take up to 15 minutes for access to propagate."
    )


def default_models() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(DEFAULT_MODELS)


class _ModelsMixin(_FakeBase):
    """``GET /models`` and ``GET /models/{id}``."""

    models: dict[str, dict[str, Any]]
    unverified_models: set[str]

    def _models_list(self) -> _Reply:
        with self._lock:
            data = [dict(m) for m in self.models.values()]
        return _Reply(200, {"object": "list", "data": data})

    def _models_get(self, model_id: str) -> _Reply:
        with self._lock:
            unverified = model_id in self.unverified_models
            found = self.models.get(model_id)
        if unverified:
            raise ApiError(403, verification_message(model_id))
        if found is None:
            raise ApiError(
                404,
                f"The model `{model_id}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        return _Reply(200, dict(found))
