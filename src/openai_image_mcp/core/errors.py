"""The exception tree, and its one mapping to tool errors.

::

    ImageServerError                  every failure a tool reports on purpose
    ├── InvalidInput                  bad argument (size for the model, empty prompt, ...)
    │   ├── PathNotAllowed            an input path outside the allowed roots (or a symlink escaping them)
    │   ├── InputFileNotFound         no such file, or an unknown image id
    │   ├── NotAnImage                the bytes do not decode as PNG, JPEG, WebP or GIF
    │   ├── ImageTooLarge             over the byte or pixel cap (decompression bombs)
    │   └── InvalidMask               a mask that would change nothing or everything
    ├── NotConfigured                 no OpenAI API key
    ├── SessionNotFound               unknown session id
    ├── SessionClosed                 the session was closed or expired
    ├── SessionLimitReached           MCP_MAX_SESSIONS open sessions
    ├── ImageNotFound                 unknown image id or resource
    ├── StorageError                  the workspace could not be written
    │   └── BlobNotFound              a recorded image (or preview) is missing from the blob store
    ├── GenerationCancelled           the generation was cancelled, or the server stopped under it
    ├── JobNotFound                   unknown job id
    ├── InsufficientScope             the caller's token lacks the scope the call needs
    └── ProviderError                 OpenAI failed; .request_id when OpenAI gave one
        ├── ProviderAuthError         401/403
        ├── ProviderRateLimited       429 after the SDK's retries
        ├── QuotaExceeded             429 insufficient_quota (never retried)
        ├── ProviderTimeout           the request took longer than OPENAI_IMAGE_MCP_REQUEST_TIMEOUT
        ├── ProviderUnavailable       5xx or connection failure after retries
        ├── ProviderBadRequest        400/404/422 that is not about content
        │   └── ChainBroken           OpenAI no longer has the previous response (the turn is replayed)
        ├── ContentRejected           moderation_blocked / content policy (.categories)
        └── NoImageReturned           OpenAI answered, but drew nothing

Each class carries an ``error_type`` (a stable string clients may switch on) and a
``suggestion`` (what the model should do next). Tools turn them into ``isError`` results in
exactly one place (:mod:`openai_image_mcp.tools.results`).
"""

from __future__ import annotations

from collections.abc import Sequence


class ImageServerError(Exception):
    error_type = "server_error"
    suggestion = "Try again; if it keeps failing, check the server log (stderr)."

    def __init__(self, message: str, *, suggestion: str | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if suggestion is not None:
            self.suggestion = suggestion
        if error_type is not None:
            self.error_type = error_type


class InvalidInput(ImageServerError):
    error_type = "invalid_input"
    suggestion = "Fix the argument named in the error and call the tool again."


class PathNotAllowed(InvalidInput):
    error_type = "path_not_allowed"
    suggestion = (
        "Use an image under the workspace or a folder listed in OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS, "
        "or an image id / resource URI of an image this server made."
    )


class InputFileNotFound(InvalidInput):
    error_type = "file_not_found"
    suggestion = "Check the path (absolute, or ~/...) or the image id; get_session_status lists a session's images."


class NotAnImage(InvalidInput):
    error_type = "not_an_image"
    suggestion = "Pass a PNG, JPEG or WebP image file; the extension alone does not make a file an image."


class ImageTooLarge(InvalidInput):
    error_type = "image_too_large"
    suggestion = "Downscale or recompress the image (the error gives the limit) and try again."


class InvalidMask(InvalidInput):
    error_type = "invalid_mask"
    suggestion = (
        "Pass a mask where the area to change is white (or transparent) and the rest black (or opaque), "
        "with at least some of each."
    )


class NotConfigured(ImageServerError):
    error_type = "not_configured"
    suggestion = (
        'Set OPENAI_API_KEY in the server\'s environment (for Claude Desktop: the "env" block of this server '
        "in claude_desktop_config.json) and restart the server."
    )


class SessionNotFound(ImageServerError):
    error_type = "session_not_found"
    suggestion = "Call list_active_sessions to see valid ids, or create_image_session to start a new one."


class SessionClosed(ImageServerError):
    error_type = "session_closed"
    suggestion = "Its history is still readable with get_session_status; start a new session with create_image_session."


class SessionLimitReached(ImageServerError):
    error_type = "session_limit_reached"
    suggestion = "Close an idle session with close_session, then create the new one."


class ImageNotFound(ImageServerError):
    error_type = "image_not_found"
    suggestion = "Check the image id; get_session_status lists a session's images."


class StorageError(ImageServerError):
    error_type = "storage_error"
    suggestion = "Check that the workspace folder (OPENAI_IMAGE_MCP_WORKSPACE) exists, is writable and has free space."


class BlobNotFound(StorageError):
    error_type = "file_missing"
    suggestion = "The image is recorded but its file is gone (deleted by hand?); generate it again."


class GenerationCancelled(ImageServerError):
    error_type = "cancelled"
    suggestion = "Nothing was saved and nothing half-written remains; call the tool again to generate."


class LeaseLost(ImageServerError):
    """A replica lost a session's lock (its lease ran out, or the turn was marked interrupted) before it could commit
    the turn: nothing of the turn is recorded, the session's chain stays where the newer holder left it."""

    error_type = "lease_lost"
    suggestion = "Call again: the session is intact and the turn can simply be retried."


class JobNotFound(ImageServerError):
    error_type = "job_not_found"
    suggestion = "Check the job_id returned by the generating tool."


class InsufficientScope(ImageServerError):
    error_type = "insufficient_scope"
    suggestion = "Use a token with the scope named in the error (images:read, images:generate or admin)."


class ProviderError(ImageServerError):
    error_type = "openai_error"
    suggestion = "Try again in a moment."

    def __init__(self, message: str, *, suggestion: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message, suggestion=suggestion)
        self.request_id = request_id
        #: the usage OpenAI reported for a call that failed but was billed (a failed image call inside a 200)
        self.usage: dict[str, object] | None = None


class ProviderAuthError(ProviderError):
    error_type = "authentication_error"
    suggestion = "Check OPENAI_API_KEY (and OPENAI_ORG_ID / OPENAI_PROJECT_ID); the key may be revoked or lack access."


class ProviderRateLimited(ProviderError):
    error_type = "rate_limited"
    suggestion = "OpenAI is rate limiting this key; wait a minute before the next generation."


class QuotaExceeded(ProviderError):
    error_type = "quota_exceeded"
    suggestion = "The OpenAI account is out of credit or over its budget: add credit or raise the limit, then retry."


class ProviderTimeout(ProviderError):
    error_type = "timeout"
    suggestion = (
        "Retry, perhaps with quality='low' or a smaller size; raise OPENAI_IMAGE_MCP_REQUEST_TIMEOUT if needed."
    )


class ProviderUnavailable(ProviderError):
    error_type = "openai_unavailable"
    suggestion = "OpenAI could not be reached or failed; check the network and status.openai.com, then retry."


class ProviderBadRequest(ProviderError):
    error_type = "openai_bad_request"
    suggestion = "OpenAI rejected a parameter (named in the error): change it and retry."


class ChainBroken(ProviderBadRequest):
    error_type = "chain_broken"
    suggestion = "Retry the turn; the server replays the session's history when OpenAI has forgotten it."


class ContentRejected(ProviderError):
    error_type = "content_rejected"
    suggestion = (
        "OpenAI's safety system blocked this request. Rephrase the prompt without the flagged content; "
        "retrying the same prompt will be blocked again."
    )

    def __init__(
        self,
        message: str,
        *,
        categories: Sequence[str] = (),
        stage: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.categories = list(categories)
        self.stage = stage


class NoImageReturned(ProviderError):
    error_type = "no_image_returned"
    suggestion = "The model answered without drawing; rephrase the request as an explicit picture description."

    def __init__(self, message: str, *, model_text: str = "", request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.model_text = model_text
