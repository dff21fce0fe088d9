"""Logging to stderr (stdout is the protocol wire on stdio), as text or JSON lines.

A filter on the handler redacts the API key and any long base64 run (image data) from every
record, whoever logged it, and stamps each record with the current tool call's correlation id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

#: The tool call being served: {"call_id": ..., "tool": ..., "session_id": ...}.
call_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("call_context", default=None)

_BASE64_RUN = re.compile(r"(?:data:[\w/+.-]+;base64,)?[A-Za-z0-9+/]{160,}={0,2}")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
#: Signed download/upload links are credentials until they expire (uvicorn's access log writes the path).
_LINK = re.compile(r"/(download|upload)/[A-Za-z0-9_.=-]{16,}")
#: Static bearer tokens.
_TOKEN_LIKE = re.compile(r"\boim_[A-Za-z0-9_-]{16,}")
_HANDLER_NAME = "openai-image-mcp"
#: Longer messages are cut (the OpenAI SDK logs whole request bodies at DEBUG, uploads included).
MAX_MESSAGE = 4_000


def annotate(**fields: str) -> None:
    """Add fields (such as OpenAI's request id) to the current tool call's log context."""
    ctx = call_context.get()
    if ctx is not None:
        ctx.update({k: v for k, v in fields.items() if v})


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted key]")
        text = _KEY_LIKE.sub("sk-[redacted]", text)
        text = _TOKEN_LIKE.sub("oim_[redacted]", text)
        text = _LINK.sub(lambda m: f"/{m.group(1)}/[redacted link]", text)
        text = _BASE64_RUN.sub(lambda m: f"[base64 data, {len(m.group(0))} chars]", text)
        if len(text) > MAX_MESSAGE:
            text = f"{text[:MAX_MESSAGE]}... [{len(text) - MAX_MESSAGE} more characters cut]"
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.msg = self.redact(message)
        record.args = None
        ctx = call_context.get()
        record.correlation = dict(ctx) if ctx else {}
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "correlation", {}) or {})
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        corr = getattr(record, "correlation", None)
        if corr:
            line += " [" + " ".join(f"{k}={v}" for k, v in corr.items()) + "]"
        return line


def configure_logging(level: str, fmt: str, secrets: list[str], *, stream: TextIO | None = None) -> None:
    """Install our handler (on stderr unless ``stream`` is given) on the root logger, replacing an
    earlier one of ours."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # The HTTP stack logs a line per request at INFO: keep it for DEBUG runs only.
    for noisy in ("httpcore", "httpx2", "hpack"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def safe_url(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``: for messages and logs (a Redis URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
