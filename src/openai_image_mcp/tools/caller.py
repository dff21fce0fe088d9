"""Who is calling: the principal of the current request, set once per request by the middleware.

Over stdio and unauthenticated localhost HTTP every call is :data:`~openai_image_mcp.core.principal.LOCAL`.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from openai_image_mcp.core.principal import LOCAL, Principal

_current: ContextVar[Principal] = ContextVar("principal", default=LOCAL)


def caller() -> Principal:
    return _current.get()


def act_as(principal: Principal) -> Token[Principal]:
    return _current.set(principal)


def reset(token: Token[Principal]) -> None:
    _current.reset(token)
