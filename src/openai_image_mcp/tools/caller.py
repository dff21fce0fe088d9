"""Who is calling: the principal of the current request, set once per request by the middleware.

Over stdio and unauthenticated localhost HTTP every call is :data:`~openai_image_mcp.core.principal.LOCAL`.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from mcp.server.auth.provider import AccessToken

from openai_image_mcp.core.principal import LOCAL, SCOPE_GENERATE, SCOPE_READ, Principal

_current: ContextVar[Principal] = ContextVar("principal", default=LOCAL)


def caller() -> Principal:
    return _current.get()


def act_as(principal: Principal) -> Token[Principal]:
    return _current.set(principal)


def reset(token: Token[Principal]) -> None:
    _current.reset(token)


def principal_of(token: AccessToken | None) -> Principal:
    """The principal of a verified bearer token; :data:`LOCAL` when the request carried none (stdio, or
    HTTP without authentication)."""
    if token is None:
        return LOCAL
    return Principal(name=token.subject or token.client_id, scopes=frozenset(token.scopes), remote=True)


#: The scope each tool needs; a tool not listed here needs images:generate (default-deny for new tools).
READ_TOOLS = frozenset(
    {
        "get_session_status",
        "list_active_sessions",
        "list_images",
        "view_image",
        "get_generation_result",
        "get_usage_guide",
        "get_server_stats",
        "create_download_link",
        "get_usage_report",
        "studio_image",
        "studio_thread",
        "studio_gallery",
    }
)


def scope_for_tool(name: str) -> str:
    return SCOPE_READ if name in READ_TOOLS else SCOPE_GENERATE


def scope_for_method(method: str, tool: str | None) -> str | None:
    """The scope a JSON-RPC request needs (``None``: any authenticated caller, e.g. ``tools/list``)."""
    if method == "tools/call":
        return scope_for_tool(tool or "")
    if method.startswith("resources/"):
        return SCOPE_READ
    return None
