"""OAuth 2.1 access tokens (JWTs) over real HTTP: signed by the issuer's key (a JWKS on a loopback server), for
this server's audience; the principal from ``sub`` or ``oauth_principal_claim``; static tokens beside them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.web.conftest import Running, Tokens, connect, legacy_initialize, ok, post_mcp, tool_call

ISSUER = "https://login.example.com/"


def _rsa_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    """An identity provider: its signing key, served as a JWKS."""

    key: RSAPrivateKey
    kid: str
    jwks_url: str
    issuer: str = ISSUER

    def mint(self, audience: str, *, key: RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "sub": "alice-sub",
            "iat": now,
            "exp": now + 600,
            "scope": "images:read images:generate",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    key, kid = _rsa_key(), uuid.uuid4().hex[:8]
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "RS256", "use": "sig"}
    document = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield Issuer(key, kid, f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def oauth_settings(settings: Settings, issuer: Issuer) -> Settings:
    return settings.model_copy(update={"oauth_issuer": issuer.issuer, "oauth_jwks_url": issuer.jwks_url})


@pytest.fixture
def oauth_server(serve: Callable[..., Running], oauth_settings: Settings) -> Running:
    return serve(oauth_settings)


async def _status(server: Running, token: str) -> int:
    return (await post_mcp(server.url, legacy_initialize(), token=token)).status_code


async def test_a_jwt_for_this_audience_is_accepted(oauth_server: Running, issuer: Issuer, mode: str) -> None:
    token = issuer.mint(oauth_server.public_url)
    assert await _status(oauth_server, token) == 200
    async with connect(oauth_server.url, token, mode) as client:
        assert (await ok(client, "create_image_session", {"description": "foxes"}))["session"]["session_id"]


async def test_the_resource_metadata_names_the_issuer(oauth_server: Running, issuer: Issuer) -> None:
    async with httpx2.AsyncClient() as http:
        doc = (await http.get(f"{oauth_server.base}/.well-known/oauth-protected-resource/mcp")).json()
    assert doc["resource"] == oauth_server.public_url
    assert [a.rstrip("/") for a in doc["authorization_servers"]] == [issuer.issuer.rstrip("/")]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"aud": "https://other.example.com/mcp"}, id="wrong-audience"),
        pytest.param({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, id="expired"),
        pytest.param({"iss": "https://evil.example.com/"}, id="wrong-issuer"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": None}, id="no-principal"),
    ],
)
async def test_a_bad_jwt_gets_401(oauth_server: Running, issuer: Issuer, change: dict[str, Any]) -> None:
    claims = dict(change)
    audience = claims.pop("aud", oauth_server.public_url)
    r = await post_mcp(oauth_server.url, legacy_initialize(), token=issuer.mint(audience, **claims))
    assert r.status_code == 401
    assert "resource_metadata=" in r.headers["www-authenticate"]


async def test_a_jwt_signed_by_another_key_gets_401(oauth_server: Running, issuer: Issuer) -> None:
    forged = issuer.mint(oauth_server.public_url, key=_rsa_key())  # same kid, another key
    assert await _status(oauth_server, forged) == 401


async def test_a_jwt_scope_claim_limits_the_calls(oauth_server: Running, issuer: Issuer) -> None:
    read_only = issuer.mint(oauth_server.public_url, scope="images:read")
    r = await post_mcp(oauth_server.url, tool_call("generate_image", {"prompt": "a fox"}), token=read_only)
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    as_list = issuer.mint(oauth_server.public_url, scope=None, scp=["images:read", "images:generate"])
    async with connect(oauth_server.url, as_list) as client:
        assert (await ok(client, "create_image_session", {"description": "foxes"}))["success"]


async def _session_ids(server: Running, token: str) -> set[str]:
    async with connect(server.url, token) as client:
        return {s["session_id"] for s in (await ok(client, "list_active_sessions"))["sessions"]}


async def _create(server: Running, token: str) -> str:
    async with connect(server.url, token) as client:
        return str((await ok(client, "create_image_session", {"description": "foxes"}))["session"]["session_id"])


async def test_the_principal_is_the_sub_claim(oauth_server: Running, issuer: Issuer) -> None:
    aud = oauth_server.public_url
    sid = await _create(oauth_server, issuer.mint(aud, sub="u-1", email="carol@example.com"))
    assert await _session_ids(oauth_server, issuer.mint(aud, sub="u-1", email="someone@example.com")) == {sid}
    assert await _session_ids(oauth_server, issuer.mint(aud, sub="u-2", email="carol@example.com")) == set()


async def test_the_principal_claim_can_be_configured(
    serve: Callable[..., Running], oauth_settings: Settings, issuer: Issuer
) -> None:
    server = serve(oauth_settings.model_copy(update={"oauth_principal_claim": "email"}))
    aud = server.public_url
    verified = {"email_verified": True}
    sid = await _create(server, issuer.mint(aud, sub="u-1", email="carol@example.com", **verified))
    assert await _session_ids(server, issuer.mint(aud, sub="u-2", email="carol@example.com", **verified)) == {sid}
    assert await _session_ids(server, issuer.mint(aud, sub="u-1", email="dave@example.com", **verified)) == set()
    # a token without the claim names nobody
    assert await _status(server, issuer.mint(aud, sub="u-1", email=None)) == 401
    # an email the identity provider has not verified names nobody either (anyone could claim carol's)
    assert await _status(server, issuer.mint(aud, sub="u-3", email="carol@example.com")) == 401
    assert await _status(server, issuer.mint(aud, sub="u-3", email="carol@example.com", email_verified=False)) == 401


async def test_static_tokens_and_jwts_work_at_once(
    serve: Callable[..., Running], oauth_settings: Settings, web_settings: Settings, tokens: Tokens, issuer: Issuer
) -> None:
    server = serve(oauth_settings.model_copy(update={"tokens_file": web_settings.tokens_file}))
    jwt_token = issuer.mint(server.public_url, sub="carol")
    assert await _status(server, tokens.alice) == 200
    assert await _status(server, jwt_token) == 200
    assert await _status(server, "oim_not-a-token") == 401
    sid = await _create(server, tokens.alice)
    assert await _session_ids(server, tokens.alice) == {sid}
    assert await _session_ids(server, jwt_token) == set()


async def test_a_remote_principal_named_local_sees_nothing_of_the_local_user(
    serve: Callable[..., Running], oauth_settings: Settings, issuer: Issuer
) -> None:
    async with Client(create_server(oauth_settings)) as local:  # the stdio user, on the same workspace
        made = await local.call_tool("create_image_session", {"description": "my private drafts"})
        assert not made.is_error
    server = serve(oauth_settings.model_copy(update={"oauth_principal_claim": "preferred_username"}))
    token = issuer.mint(server.public_url, sub="u-666", preferred_username="local")
    if await _status(server, token) == 401:
        return  # refusing the name is a fix too
    assert await _session_ids(server, token) == set()
