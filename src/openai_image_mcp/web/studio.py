"""The studio as a web page: ``/studio/`` serves the page and ``/studio/api`` answers its calls.

Top-level in a browser (not inside an MCP client) the page runs in *direct mode*: it POSTs
``{"method": "tools/call" | "resources/read", "params": {...}}`` to ``api`` with ``Authorization: Bearer``
and gets ``{"result": <the MCP result>}`` or ``{"error": {"code", "message"}}`` back. Each call runs through
the server's own request pipeline (the SDK's runner with this server's middleware: scopes, readiness, result
budget, path scrubbing, owner isolation), for the principal the request authenticated as, exactly as the same
call over ``/mcp`` would.

Who the caller is, by :class:`StudioAuth`:

* ``serve --transport http`` with tokens or OAuth: the bearer token, verified by the SDK's authentication
  middleware in front of every route (the same verifier as ``/mcp``); the principal is the token's.
* ``serve --transport http`` on loopback without authentication: ``local``, as on ``/mcp``.
* ``openai-image-mcp studio``: a one-time random token for the run (compared in constant time); ``local``.

The Host and Origin checks of ``/mcp`` (DNS rebinding) apply to both routes.
"""

from __future__ import annotations

import hmac
import itertools
import json
import signal
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.connection import Connection
from mcp.server.runner import modern_error_data, serve_one
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp.types import INVALID_REQUEST, METHOD_NOT_FOUND
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from openai_image_mcp import __version__
from openai_image_mcp.core import errors
from openai_image_mcp.core.principal import LOCAL, Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import ImageMCPServer, create_server
from openai_image_mcp.studio.page import inline_hashes, studio_html
from openai_image_mcp.tools.caller import principal_of, scope_for_method
from openai_image_mcp.web.routes import read_capped

STUDIO_PATH = "/studio"
API_PATH = f"{STUDIO_PATH}/api"
#: The largest request body ``/studio/api`` reads (a mask painted over a full-size image fits).
API_BODY_LIMIT = 4 * 1024 * 1024
ALLOWED_METHODS = frozenset({"tools/call", "resources/read"})
#: Who the server sees calling: the studio page, a 2026-07-28 client that is itself an MCP App.
CLIENT_INFO = {"name": "openai-image-mcp-studio", "version": __version__}
CLIENT_CAPABILITIES: dict[str, Any] = {"extensions": {EXTENSION_ID: {"mimeTypes": [APP_MIME_TYPE]}}}


def content_security_policy() -> str:
    """The page is one self-contained HTML document: only its own inline stylesheet and script run (allowed by
    their hashes, not ``'unsafe-inline'``), it talks only to this origin, and everything else is refused."""
    css, js = inline_hashes()
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {js}",
            f"style-src {css}",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class StudioAuth:
    """How ``/studio/api`` knows its caller: ``verified`` when the SDK's authentication middleware checks bearer
    tokens in front of the routes (the caller is the token's principal); else ``token``, a one-time token of the
    ``studio`` command (the caller is ``local``); neither: an unauthenticated loopback server (``local``)."""

    verified: bool = False
    token: str | None = field(default=None, repr=False)


def _error(status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers={**API_HEADERS, **(headers or {})}
    )


def _unauthorized(message: str) -> JSONResponse:
    return _error(401, 401, message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


@dataclass
class _Exchange:
    """The ``DispatchContext`` of one studio call: one answer, no back-channel; notifications and progress are
    dropped (the page asks again when it wants news)."""

    transport: TransportContext
    request_id: int
    message_metadata: MessageMetadata
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


class Studio:
    """The two routes over one server; :meth:`routes` for a Starlette app, :meth:`add_to` for the server's own."""

    def __init__(self, server: ImageMCPServer, security: TransportSecuritySettings, auth: StudioAuth) -> None:
        self.server = server
        self.auth = auth
        self.security = TransportSecurityMiddleware(security)
        self._ids = itertools.count(1)

    def endpoints(self) -> list[tuple[str, list[str], Callable[[Request], Awaitable[Response]]]]:
        """(path, methods, endpoint) of each route; ``/studio`` redirects to ``/studio/`` so that the page's
        relative ``api`` is ``/studio/api``."""
        return [
            (STUDIO_PATH, ["GET"], self.redirect),
            (f"{STUDIO_PATH}/", ["GET"], self.page),
            (API_PATH, ["POST"], self.api),
        ]

    def routes(self) -> list[Route]:
        return [Route(path, fn, methods=methods, include_in_schema=False) for path, methods, fn in self.endpoints()]

    def add_to(self, server: ImageMCPServer) -> None:
        """Register the routes as custom routes of ``server`` (beside ``/mcp``, behind its authentication)."""
        for path, methods, fn in self.endpoints():
            server.custom_route(path, methods=methods, include_in_schema=False)(fn)

    # -- the page -------------------------------------------------------------------------------------------------

    async def redirect(self, request: Request) -> Response:
        refused = await self.security.validate_request(request)
        if refused is not None:
            return refused
        return RedirectResponse(f"{STUDIO_PATH}/", status_code=308, headers={"Cache-Control": "no-store"})

    async def page(self, request: Request) -> Response:
        """The page itself carries no data (the token comes with the URL's fragment, never sent here)."""
        refused = await self.security.validate_request(request)
        if refused is not None:
            return refused
        return Response(studio_html(), media_type="text/html; charset=utf-8", headers=page_headers())

    # -- the api ----------------------------------------------------------------------------------------------------

    def _caller(self, request: Request) -> Principal | JSONResponse:
        if self.auth.verified:
            token = getattr(request.scope.get("user"), "access_token", None)
            if token is None:
                return _unauthorized("A valid bearer token is required.")
            return principal_of(token)
        if self.auth.token is not None:
            presented = _presented_token(request)
            if presented is None or not hmac.compare_digest(presented.encode(), self.auth.token.encode()):
                return _unauthorized("A valid bearer token is required (open the URL the studio command logged).")
        return LOCAL

    async def api(self, request: Request) -> Response:
        refused = await self.security.validate_request(request, is_post=True)
        if refused is not None:
            return refused
        who = self._caller(request)
        if isinstance(who, Response):
            return who
        try:
            body = await read_capped(request, API_BODY_LIMIT)
        except errors.ImageTooLarge:
            return _error(413, 413, f"The request body is over the limit of {API_BODY_LIMIT:,} bytes.")
        parsed = _parse(body)
        if isinstance(parsed, Response):
            return parsed
        method, params = parsed
        needed = scope_for_method(method, str(params.get("name", "")))
        if needed is not None and not who.allows(needed):
            return _error(403, 403, f"This token lacks the {needed} scope that {method} needs.")
        try:
            result = await self.dispatch(request, method, params)
        except Exception as exc:  # the SDK's mapping: MCPError as is, anything else a generic internal error
            data = modern_error_data(exc)
            return JSONResponse({"error": {"code": data.code, "message": data.message}}, headers=API_HEADERS)
        return JSONResponse({"result": result}, headers=API_HEADERS)

    async def dispatch(self, request: Request, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One MCP request through the server's pipeline (the SDK runner: this server's middleware, then the
        handler), as the authenticated user of ``request``; the result in its wire form."""
        envelope = {
            PROTOCOL_VERSION_META_KEY: LATEST_MODERN_VERSION,
            CLIENT_INFO_META_KEY: CLIENT_INFO,
            CLIENT_CAPABILITIES_META_KEY: CLIENT_CAPABILITIES,
        }
        meta = params.get("_meta")
        params = {**params, "_meta": {**(meta if isinstance(meta, dict) else {}), **envelope}}
        connection = Connection.from_envelope(LATEST_MODERN_VERSION, CLIENT_INFO, CLIENT_CAPABILITIES)
        exchange = _Exchange(
            transport=TransportContext(kind="studio", can_send_request=False),
            request_id=next(self._ids),
            message_metadata=ServerMessageMetadata(request_context=request),
        )
        lowlevel = self.server.session_manager.app
        return await serve_one(
            lowlevel, exchange, method, params, connection=connection, lifespan_state=self.server.service
        )


def _parse(body: bytes) -> tuple[str, dict[str, Any]] | JSONResponse:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _error(400, INVALID_REQUEST, "The body is not JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("method"), str):
        return _error(400, INVALID_REQUEST, 'The body must be {"method": ..., "params": {...}}.')
    method = data["method"]
    if method not in ALLOWED_METHODS:
        return _error(400, METHOD_NOT_FOUND, f"Only {' and '.join(sorted(ALLOWED_METHODS))} are allowed here.")
    params = data.get("params", {})
    if not isinstance(params, dict):
        return _error(400, INVALID_REQUEST, "params must be an object.")
    return method, params


def add_studio_routes(server: ImageMCPServer, security: TransportSecuritySettings, auth: StudioAuth) -> Studio:
    """``/studio`` beside ``/mcp`` (``serve --transport http``)."""
    studio = Studio(server, security, auth)
    studio.add_to(server)
    return studio


#: The Host and Origin a loopback-only studio accepts (any port: the page and its api share one origin).
LOOPBACK_ONLY = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
)


def build_studio_app(settings: Settings, token: str, **server_kwargs: Any) -> Starlette:
    """The app of ``openai-image-mcp studio``: the studio's routes only (no ``/mcp``), loopback Host and Origin
    only, the server's lifespan, and ``token`` as the one credential (the caller is ``local``)."""
    server = create_server(settings, **server_kwargs)
    server.streamable_http_app(transport_security=LOOPBACK_ONLY)  # makes the session manager (runs the lifespan)
    studio = Studio(server, LOOPBACK_ONLY, StudioAuth(token=token))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return Starlette(routes=studio.routes(), lifespan=lifespan)


def run_studio(settings: Settings, sock: socket.socket, token: str, on_ready: Callable[[], None]) -> None:
    """Serve :func:`build_studio_app` on the bound ``sock`` until Ctrl-C or SIGTERM, then return; ``on_ready``
    runs once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                on_ready()

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            """Ctrl-C and SIGTERM stop the server (a second Ctrl-C at once); unlike uvicorn's own, the signal is
            not raised again afterwards, so the command ends quietly."""
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        build_studio_app(settings, token),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    Server(config).run(sockets=[sock])
