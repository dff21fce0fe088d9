"""The ``openai-image-mcp`` command: serve over stdio (default) or Streamable HTTP, open the studio in a browser,
show the settings, manage the static tokens of the HTTP transport, check the installation (``doctor``) and print
or write a client's configuration (``install``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openai_image_mcp import __version__
from openai_image_mcp.setup import CLIENT_NAMES, DEFAULT_NAME

if TYPE_CHECKING:
    from openai_image_mcp.core.settings import Settings

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="openai-image-mcp", description="MCP server for OpenAI image generation.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the server (the default)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve HTTP on a non-loopback address without authentication (logs a warning at every start)",
    )
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP: no Mcp-Session-Id for 2025 clients (for round-robin replicas; on by itself with a redis:// "
        "state URL)",
    )
    studio = sub.add_parser(
        "studio", help="open the studio (gallery, viewer, mask painter) in the browser, served on 127.0.0.1 only"
    )
    studio.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    studio.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    studio.add_argument("--no-browser", action="store_true", help="do not open the browser (the URL is logged)")
    sub.add_parser("config", help="print the effective settings as JSON (the key is masked)")
    doctor = sub.add_parser(
        "doctor", help="check the key, the models, the workspace and the settings; exit 1 if a check fails"
    )
    doctor.add_argument("--json", action="store_true", help="print {checks: [{name, status, message, fix}], ok}")
    install = sub.add_parser(
        "install", help="print the configuration for claude-desktop, claude-code, cursor or vscode (--write: merge it)"
    )
    install.add_argument("client", choices=CLIENT_NAMES, help="the MCP client to configure")
    install.add_argument(
        "--write",
        action="store_true",
        help="merge the entry into the client's config file (a timestamped backup of the old file is kept)",
    )
    install.add_argument(
        "--name", default=DEFAULT_NAME, help=f"the server's name in the client (default {DEFAULT_NAME})"
    )
    install.add_argument("--config", type=Path, help="the client's config file (default: where the client reads it)")
    token = sub.add_parser("token", help="manage the static bearer tokens of the HTTP transport")
    file_help = "the tokens file (default: OPENAI_IMAGE_MCP_TOKENS_FILE)"
    token.add_argument("--file", type=Path, help=file_help)
    # --file also after the subcommand (token add NAME --file F); SUPPRESS keeps the value given before it
    file_option = argparse.ArgumentParser(add_help=False)
    file_option.add_argument("--file", type=Path, default=argparse.SUPPRESS, help=file_help)
    tsub = token.add_subparsers(dest="token_command", required=True)
    add = tsub.add_parser("add", parents=[file_option], help="create a token for a principal; it is printed once")
    add.add_argument("name", help="the principal (user or agent) the token authenticates")
    add.add_argument(
        "--scope",
        action="append",
        default=[],
        help="images:read, images:generate or admin (repeatable; default: images:read images:generate)",
    )
    tsub.add_parser("list", parents=[file_option], help="list the principals and their scopes (never the tokens)")
    revoke = tsub.add_parser("revoke", parents=[file_option], help="remove every token of a principal")
    revoke.add_argument("name")
    return p


def _fail(message: str) -> SystemExit:
    sys.stderr.write(f"openai-image-mcp: {message}\n")
    return SystemExit(EXIT_CONFIG)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from pydantic import ValidationError

    from openai_image_mcp.core.logs import configure_logging
    from openai_image_mcp.core.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        if args.command == "doctor":
            from openai_image_mcp.setup import doctor

            raise SystemExit(doctor.invalid_settings(exc, as_json=args.json)) from exc
        sys.stderr.write(f"openai-image-mcp: invalid configuration:\n{exc}\n")
        raise SystemExit(EXIT_CONFIG) from exc
    configure_logging(settings.log_level, settings.log_format, [settings.api_key or ""])

    if args.command == "config":
        data = settings.model_dump(mode="json")
        data["openai_api_key"] = "set" if settings.api_key else None
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if args.command == "token":
        _token(args, settings.tokens_file)
        return
    if args.command == "doctor":
        from openai_image_mcp.setup import doctor

        raise SystemExit(doctor.main(settings, as_json=args.json))
    if args.command == "install":
        from openai_image_mcp.setup import install

        raise SystemExit(install.main(args, settings))
    if args.command == "studio":
        _studio(settings, args)
        return
    if getattr(args, "transport", "stdio") == "http":
        _serve_http(settings, args)
        return
    from openai_image_mcp.core.errors import NotConfigured
    from openai_image_mcp.server import create_server

    try:
        server = create_server(settings)
    except NotConfigured as exc:
        raise _fail(exc.message) from exc
    server.run()


def _serve_http(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from openai_image_mcp.core.errors import NotConfigured
    from openai_image_mcp.store.backends import is_shared
    from openai_image_mcp.web.app import UnsafeBind, build_http_app
    from openai_image_mcp.web.tokenfile import TokenFileError

    try:
        built = build_http_app(
            settings,
            host=args.host,
            port=args.port,
            allow_unauthenticated=args.allow_unauthenticated,
            # replicas on shared state: any replica must answer any request, so no per-process MCP sessions
            stateless=args.stateless or is_shared(settings),
        )
    except UnsafeBind as exc:
        raise _fail(str(exc)) from exc
    except NotConfigured as exc:
        raise _fail(exc.message) from exc
    except (TokenFileError, OSError) as exc:
        raise _fail(f"cannot read the tokens file: {exc}") from exc
    config = uvicorn.Config(
        built.app, host=args.host, port=args.port, log_level=settings.log_level.lower(), log_config=None
    )
    uvicorn.Server(config).run()


def _studio(settings: Settings, args: argparse.Namespace) -> None:
    """The studio for the local user: 127.0.0.1, a one-time token in the URL's fragment, the browser opened."""
    import secrets
    import socket
    import threading
    import webbrowser

    from openai_image_mcp.core.errors import NotConfigured
    from openai_image_mcp.web.app import is_loopback, url_host
    from openai_image_mcp.web.studio import run_studio

    if not is_loopback(args.host):
        raise _fail(
            f"the studio serves a loopback address only, not {args.host}: it is your own workspace, without "
            "accounts. To share it, run 'serve --transport http' with tokens and open /studio/ there."
        )
    address = args.host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, args.port))
    except OSError as exc:
        sock.close()
        raise _fail(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    token = secrets.token_urlsafe(32)
    url = f"http://{url_host(address)}:{sock.getsockname()[1]}/studio/#token={token}"

    def ready() -> None:
        sys.stderr.write(f"openai-image-mcp studio: {url}\n(open it in your browser; Ctrl-C stops the studio)\n")
        sys.stderr.flush()
        if not args.no_browser:
            threading.Thread(target=webbrowser.open, args=(url,), name="open-browser", daemon=True).start()

    try:
        run_studio(settings, sock, token, ready)
    except NotConfigured as exc:
        raise _fail(exc.message) from exc
    finally:
        sock.close()


def _token(args: argparse.Namespace, configured: Path | None) -> None:
    from openai_image_mcp.web import tokenfile

    path = args.file or configured
    if path is None:
        raise _fail("no tokens file: set OPENAI_IMAGE_MCP_TOKENS_FILE or pass --file PATH.")
    try:
        if args.token_command == "add":
            token, entry = tokenfile.add(path, args.name, args.scope)
            sys.stderr.write(
                f"Added a token for {entry.principal} ({' '.join(entry.scopes)}) to {path}.\n"
                "It is shown once, below; the file keeps only its hash.\n"
            )
            sys.stdout.write(token + "\n")
        elif args.token_command == "list":
            for entry in tokenfile.read(path):
                sys.stdout.write(f"{entry.principal}\t{' '.join(entry.scopes)}\t{entry.sha256[:12]}…\n")
        else:
            removed = tokenfile.revoke(path, args.name)
            if not removed:
                raise _fail(f"{args.name!r} has no token in {path}.")
            sys.stderr.write(f"Revoked {removed} token(s) of {args.name}.\n")
    except tokenfile.TokenFileError as exc:
        raise _fail(str(exc)) from exc
