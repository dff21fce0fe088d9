"""The ``openai-image-mcp`` command: serve over stdio (default) or Streamable HTTP, or show settings."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from openai_image_mcp import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="openai-image-mcp", description="MCP server for OpenAI image generation.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the server (the default)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    sub.add_parser("config", help="print the effective settings as JSON (the key is masked)")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from pydantic import ValidationError

    from openai_image_mcp.core.logs import configure_logging
    from openai_image_mcp.core.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        sys.stderr.write(f"openai-image-mcp: invalid configuration:\n{exc}\n")
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_format, [settings.api_key or ""])

    if args.command == "config":
        data = settings.model_dump(mode="json")
        data["openai_api_key"] = "set" if settings.api_key else None
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return

    from openai_image_mcp.server import create_server

    mcp = create_server(settings)
    if getattr(args, "transport", "stdio") == "http":
        mcp.run(transport="streamable-http", host=args.host, port=args.port)
    else:
        mcp.run()
