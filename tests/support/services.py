"""Real local services for the tests: ``redis-server`` (Debian's package) and an S3-compatible server.

``scripts/test`` installs the programs when they are missing. Each service runs once per test session on a
free loopback port, in a temporary folder, and is stopped at the end; tests keep apart by key prefix (Redis) or
bucket (S3), so nothing is flushed under a running test.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@dataclass
class RedisServer:
    """``redis-server`` on loopback; ``url`` for redis-py, ``prefix()`` a fresh key prefix for one test."""

    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="oim-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def prefix() -> str:
        return f"t{uuid.uuid4().hex[:10]}:"

    def start(self, *, appendonly: bool = False) -> RedisServer:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""]
        args += ["--appendonly", "yes" if appendonly else "no", "--protected-mode", "no", "--logfile", ""]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- S3 -------------------------------------------------------------------------------------------------------------


def _sigv4_key(secret: str, scope: list[str]) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class PresignCheck:
    """In front of moto, which serves any presigned URL as it is: a presigned request (``X-Amz-Signature`` in the
    query, no ``Authorization``) whose time is up, or whose SigV4 signature is not that of the test credentials,
    gets S3's 403 instead. The signature is recomputed here from the request (SigV4 query auth, unsigned payload)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], access_key: str, secret_key: str) -> None:
        self.app = app
        self.access_key = access_key
        self.secret_key = secret_key

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = str(environ.get("QUERY_STRING", ""))
        if "X-Amz-Signature=" in query and "HTTP_AUTHORIZATION" not in environ:
            refusal = self.refusal(environ, query)
            if refusal is not None:
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{refusal[0]}</Code><Message>{refusal[1]}</Message></Error>"
                ).encode()
                headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
                start_response("403 Forbidden", headers)
                return [body]
        return self.app(environ, start_response)

    def refusal(self, environ: dict[str, Any], query: str) -> tuple[str, str] | None:
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            stamp = params["X-Amz-Date"]
            expires = int(params["X-Amz-Expires"])
            access_key, *scope = params["X-Amz-Credential"].split("/")
            signed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except (KeyError, ValueError):
            return "AuthorizationQueryParametersError", "Malformed presigned query."
        if time.time() > signed + expires:
            return "AccessDenied", "Request has expired"
        if access_key != self.access_key:
            return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, v in sorted(params.items())
            if k != "X-Amz-Signature"
        )
        path = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")).split("?")[0]
        host = str(environ.get("HTTP_HOST", ""))
        canonical = "\n".join(
            [str(environ["REQUEST_METHOD"]), path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"]
        )
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, "/".join(scope), hashlib.sha256(canonical.encode()).hexdigest()]
        )
        expected = hmac.new(_sigv4_key(self.secret_key, scope), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
            return "SignatureDoesNotMatch", "The request signature we calculated does not match the one provided."
        return None


class _CheckedMotoServer(ThreadedMotoServer):
    """moto's threaded server with :class:`PresignCheck` in front of its app."""

    def __init__(self, check: Callable[[Callable[..., Iterable[bytes]]], Any]) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._check = check

    def _server_entry(self) -> None:
        app = self._check(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@dataclass
class S3Server:
    """moto's S3 server on loopback (a free port), behind :class:`PresignCheck`. The store gets the dummy credentials
    through its own config (``config``), never ``os.environ``; ``bucket()`` makes a fresh bucket for one test, and
    ``environ()`` is what a process that reads the ``AWS_*`` variables (the doctor) needs."""

    access_key: str = "AKIAOIMTESTKEY000001"
    secret_key: str = "oim-test-secret-0123456789abcdef"
    region: str = "us-east-1"
    server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None, "start() the server first"
        host, port = self.server.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def config(self) -> dict[str, str]:
        return {"access_key_id": self.access_key, "secret_access_key": self.secret_key, "region": self.region}

    def environ(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def start(self) -> S3Server:
        self.server = _CheckedMotoServer(lambda app: PresignCheck(app, self.access_key, self.secret_key))
        self.server.start()
        return self

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"t-{uuid.uuid4().hex[:16]}"
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status
        return name

    def objects(self, bucket: str) -> list[str]:
        """The keys in ``bucket``, as S3 lists them."""
        with urllib.request.urlopen(f"{self.endpoint}/{bucket}?list-type=2", timeout=10) as response:
            text = response.read().decode()
        return re.findall(r"<Key>([^<]+)</Key>", text)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
