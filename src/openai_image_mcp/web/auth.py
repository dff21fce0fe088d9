"""Authentication over HTTP: static bearer tokens and OAuth 2.1 access tokens (JWTs), behind the SDK's
``TokenVerifier`` seam, and the mapping from a verified token to a :class:`Principal`.

Both modes may be on at once: a presented token is first looked up among the static tokens' hashes
(constant-time comparisons), then verified as a JWT against the issuer's JWKS with this server's public
URL as the audience. Either way the access token carries ``resource`` = the public URL, so the SDK's
``validate_token_resource`` check holds, and ``subject`` = the principal's name.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
from mcp.server.auth.provider import AccessToken

from openai_image_mcp.core.principal import KNOWN_SCOPES, LOCAL_NAME
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.web import tokenfile

log = logging.getLogger(__name__)


class StaticTokens:
    """The tokens file, re-read when it changes (so ``token add``/``revoke`` take effect without a restart)."""

    def __init__(self, path: Path, resource: str) -> None:
        self.path = path
        self.resource = resource
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[tokenfile.TokenEntry] = []
        self.reload()

    def reload(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._entries, self._stamp = [], None
            return
        # the file is replaced (a new inode) on every write, so a change within one mtime tick is seen too
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp != self._stamp:
            self._entries = tokenfile.read(self.path)  # a malformed file fails loudly at start
            self._stamp = stamp

    def verify(self, token: str) -> AccessToken | None:
        try:
            self.reload()
        except (OSError, tokenfile.TokenFileError) as exc:  # keep the last good entries
            log.error("cannot re-read the tokens file: %s", exc)
        entry = tokenfile.match(self._entries, token)
        if entry is None:
            return None
        return AccessToken(
            token=token,
            client_id=entry.principal,
            subject=entry.principal,
            scopes=list(entry.scopes),
            resource=self.resource,
            claims={"iss": "tokens-file"},
        )


class JwtTokens:
    """JWTs signed by the issuer's keys (its JWKS), for this server's audience."""

    def __init__(self, *, issuer: str, jwks_url: str, audience: str, principal_claim: str) -> None:
        import jwt  # pyjwt, a dependency of mcp; imported only when OAuth is configured

        self.issuer = issuer
        self.audience = audience
        self.principal_claim = principal_claim
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300)

    def verify(self, token: str) -> AccessToken | None:
        import jwt

        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            log.info("rejected a bearer token: %s", exc)
            return None
        name = claims.get(self.principal_claim)
        if not isinstance(name, str) or not name:
            log.info("rejected a bearer token without the %r claim", self.principal_claim)
            return None
        if name == LOCAL_NAME:  # the owner of everything made over stdio: never a remote caller's name
            log.warning("rejected a bearer token naming the reserved principal %r", LOCAL_NAME)
            return None
        if self.principal_claim == "email" and claims.get("email_verified") is not True:
            log.info("rejected a bearer token whose email is not verified")
            return None
        try:
            tokenfile.check_name(name)
        except tokenfile.TokenFileError:
            log.info("rejected a bearer token whose principal name is not usable")
            return None
        raw = claims.get("scope", claims.get("scp", ""))
        scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw or []]
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or name),
            subject=name,
            scopes=[s for s in scopes if s in KNOWN_SCOPES],
            expires_at=int(claims["exp"]),
            resource=self.audience,
            claims={"iss": self.issuer},
        )


class TokenVerifier:
    """The SDK's ``TokenVerifier`` over the configured modes (static tokens first, then JWTs)."""

    def __init__(self, static: StaticTokens | None, jwt_tokens: JwtTokens | None) -> None:
        self.static = static
        self.jwt = jwt_tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        if self.static is not None:
            found = self.static.verify(token)
            if found is not None:
                return found
        if self.jwt is not None and token.count(".") == 2:
            return await anyio.to_thread.run_sync(self.jwt.verify, token)  # the JWKS fetch may block
        return None


def build_verifier(settings: Settings, resource: str) -> TokenVerifier | None:
    """The verifier of the configured modes, or ``None`` when neither is configured."""
    static = StaticTokens(settings.tokens_file, resource) if settings.tokens_file is not None else None
    jwt_tokens = None
    if settings.oauth_issuer:
        jwks = settings.oauth_jwks_url or settings.oauth_issuer.rstrip("/") + "/.well-known/jwks.json"
        jwt_tokens = JwtTokens(
            issuer=settings.oauth_issuer,
            jwks_url=jwks,
            audience=resource,
            principal_claim=settings.oauth_principal_claim,
        )
    if static is None and jwt_tokens is None:
        return None
    return TokenVerifier(static, jwt_tokens)
