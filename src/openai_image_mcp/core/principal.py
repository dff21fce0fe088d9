"""Who is asking: every use case takes the caller's :class:`Principal`, and every record has an owner.

Over stdio and unauthenticated localhost HTTP the caller is :data:`LOCAL`. An authenticated HTTP
caller is the principal named by its token. A principal with the ``admin`` scope sees every owner's
records; any other sees only its own, and someone else's id answers exactly like an id that never
existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The owner of everything made over stdio or unauthenticated localhost HTTP (and of rows older than owners).
LOCAL_NAME = "local"

SCOPE_READ = "images:read"
SCOPE_GENERATE = "images:generate"
SCOPE_ADMIN = "admin"
KNOWN_SCOPES = frozenset({SCOPE_READ, SCOPE_GENERATE, SCOPE_ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({SCOPE_READ, SCOPE_GENERATE}))
    #: Authenticated by a token over HTTP: may not read server paths, and is never shown one.
    remote: bool = False

    @property
    def is_admin(self) -> bool:
        return SCOPE_ADMIN in self.scopes

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or self.is_admin

    @property
    def owner_filter(self) -> str | None:
        """The owner a query is limited to; ``None`` (every owner) for an admin."""
        return None if self.is_admin else self.name


#: The one principal of a local, single-user server.
LOCAL = Principal(LOCAL_NAME)
