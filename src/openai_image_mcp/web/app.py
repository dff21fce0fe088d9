"""The Streamable HTTP application: the MCP endpoint, authentication, the Host/Origin checks, and the
routes beside it. ``openai-image-mcp serve --transport http`` runs it under uvicorn; tests run the same
app on a loopback port.

Safe by default: bound to a loopback address the server may run without authentication (the caller is
then ``local``); on any other address it refuses to start without a tokens file or an OAuth issuer,
unless ``--allow-unauthenticated`` is given. The Host and Origin checks are on for every bind address.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.routing import Route

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import ImageMCPServer, create_server
from openai_image_mcp.web.auth import build_verifier
from openai_image_mcp.web.metrics import Metrics
from openai_image_mcp.web.routes import add_routes
from openai_image_mcp.web.scopes import ScopeGate
from openai_image_mcp.web.studio import StudioAuth, add_studio_routes

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


class UnsafeBind(Exception):
    """A non-loopback bind without authentication (the CLI exits with code 2)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it appears in a URL: a wildcard bind becomes 127.0.0.1, an IPv6 literal gets brackets."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass
class HttpApp:
    app: Starlette
    server: ImageMCPServer
    public_url: str
    authenticated: bool


def transport_security(settings: Settings, host: str, port: int, public_url: str) -> TransportSecuritySettings:
    hosts, origins = list(LOOPBACK_HOSTS), list(LOOPBACK_ORIGINS)
    if not is_loopback(host) and host not in ("0.0.0.0", "::", ""):
        hosts.append(f"{url_host(host)}:{port}")
    public = urlsplit(public_url)
    if public.netloc and public.hostname not in ("127.0.0.1", "localhost"):
        if public.port:
            hosts.append(public.netloc)
        else:  # behind a proxy on the default port the Host header has no port at all
            hosts += [public.netloc, f"{public.netloc}:*"]
        origins.append(f"{public.scheme}://{public.netloc}")
    hosts += _csv(settings.allowed_hosts)
    origins += _csv(settings.allowed_origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def build_http_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    allow_unauthenticated: bool = False,
    stateless: bool = False,
    **server_kwargs: Any,
) -> HttpApp:
    """The ASGI app for ``host:port``; raises :class:`UnsafeBind` for an open non-loopback bind."""
    public_url = settings.public_url or f"http://{url_host(host)}:{port}{MCP_PATH}"
    settings = settings.model_copy(update={"public_url": public_url})
    verifier = build_verifier(settings, public_url)
    public_host = urlsplit(public_url).hostname or ""
    exposed = not is_loopback(host) or not is_loopback(public_host) or bool(settings.allowed_hosts.strip())
    if verifier is None and exposed:
        if not allow_unauthenticated:
            where = f"{host}:{port}" if not is_loopback(host) else f"{public_url} (through a proxy)"
            raise UnsafeBind(
                f"Refusing to serve on {where} without authentication: anyone who can reach it could read every "
                "image and spend your OpenAI credit. Set OPENAI_IMAGE_MCP_TOKENS_FILE (see 'openai-image-mcp token "
                "add') or OPENAI_IMAGE_MCP_OAUTH_ISSUER, bind to 127.0.0.1, or pass --allow-unauthenticated."
            )
        log.warning(
            "serving on %s:%d WITHOUT authentication (--allow-unauthenticated): every caller is 'local' and sees "
            "every image; put an authenticating proxy in front or configure tokens",
            host,
            port,
        )
    auth = None
    if verifier is not None:
        issuer = settings.oauth_issuer or public_url
        auth = AuthSettings(
            issuer_url=AnyHttpUrl(issuer),
            resource_server_url=AnyHttpUrl(public_url),
            validate_token_resource=True,
        )
    server = create_server(settings, token_verifier=verifier, auth=auth, **server_kwargs)
    add_routes(server, server.service, Metrics(), auth_required=verifier is not None)
    security = transport_security(settings, host, port, public_url)
    add_studio_routes(server, security, StudioAuth(verified=verifier is not None))
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=stateless,
        transport_security=security,
        host=host,
    )
    if verifier is not None:
        metadata_url = str(build_resource_metadata_url(AnyHttpUrl(public_url)))
        for route in app.routes:
            if isinstance(route, Route) and route.path == MCP_PATH:
                route.app = ScopeGate(route.app, metadata_url, DEFAULT_MAX_REQUEST_BODY_SIZE)
    return HttpApp(app=app, server=server, public_url=public_url, authenticated=verifier is not None)
