"""The studio page as one HTML string: ``assets/studio.html`` with ``studio.css`` and ``studio.js`` inlined, read
once per process. Inlined, the page needs nothing but itself, so a host can render it under a CSP that allows no
origin at all (``default-src 'none'``, inline script and style only)."""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

#: The page's MCP Apps resource URI (``ui://`` scheme, per the MCP Apps extension).
STUDIO_URI = "ui://openai-image-mcp/studio.html"
#: Where the stylesheet and the script go in ``studio.html``.
CSS_SLOT = "/*STUDIO_CSS*/"
JS_SLOT = "/*STUDIO_JS*/"


def _asset(name: str) -> str:
    return resources.files("openai_image_mcp.studio").joinpath("assets", name).read_text(encoding="utf-8")


@functools.cache
def studio_html() -> str:
    """The whole page (HTML, CSS and JS), about 40 KB."""
    html, css, js = _asset("studio.html"), _asset("studio.css"), _asset("studio.js")
    if CSS_SLOT not in html or JS_SLOT not in html:
        raise RuntimeError("studio.html lost its CSS or JS slot")
    # The script may not close its own <script> element early.
    if "</script" in js.lower():
        raise RuntimeError("studio.js must not contain '</script'")
    return html.replace(CSS_SLOT, css, 1).replace(JS_SLOT, js, 1)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@functools.cache
def inline_hashes() -> tuple[str, str]:
    """CSP sources that allow exactly the page's inline stylesheet and script (``'sha256-...'``), for a server that
    sends the page itself and so can be stricter than ``'unsafe-inline'``."""
    return _sha256(_asset("studio.css")), _sha256(_asset("studio.js"))
