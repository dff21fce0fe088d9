"""Settings: one object, built once in ``main()`` (or by a test) and passed down.

Every environment variable the server reads is declared here, and the README's configuration
table lists them all (a test keeps the two in step). Nothing reads the environment elsewhere,
except the OpenAI SDK's own optional variables (``OPENAI_CUSTOM_HEADERS`` and friends).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

ENV_PREFIX = "OPENAI_IMAGE_MCP_"


def default_workspace() -> Path:
    """The per-user data folder (for example ``~/.local/share/openai-image-mcp`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("openai-image-mcp", appauthor=False)


def split_folders(value: str, *, windows: bool) -> list[str]:
    """``OPENAI_IMAGE_MCP_ALLOWED_INPUT_DIRS`` as folders: split on ``;`` on Windows (``:`` is part of a drive,
    as in ``C:\\Pictures``), on ``:`` or ``;`` elsewhere."""
    parts = value.split(";") if windows else value.replace(";", ":").split(":")
    return [p.strip() for p in parts if p.strip()]


class Settings(BaseSettings):
    """Server configuration. Field docs are the configuration reference."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", populate_by_name=True)

    # -- the original design's variables (unprefixed) ---------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"),
        description="OpenAI API key. Without it the server starts, but tools that call OpenAI explain how to set it.",
    )
    max_sessions: int = Field(
        default=100,
        ge=1,
        validation_alias=AliasChoices("MCP_MAX_SESSIONS", "max_sessions"),
        description="Most sessions open at once; creating one more fails and names the idle sessions to close.",
    )
    session_timeout: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=AliasChoices("MCP_SESSION_TIMEOUT", "session_timeout"),
        description="Seconds of inactivity after which a session is closed (its history stays readable).",
    )
    log_level: LogLevel = Field(
        default="INFO",
        validation_alias=AliasChoices("LOG_LEVEL", "log_level"),
        description="Log level; logs go to stderr, never stdout.",
    )
    # -- the OpenAI SDK's own variables, honoured explicitly -----------------------------------
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="OpenAI API base URL (a proxy, Azure's v1 surface, or a local fake).",
    )
    openai_org_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_ORG_ID", "openai_org_id"),
        description="OpenAI organization.",
    )
    openai_project_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_PROJECT_ID", "openai_project_id"),
        description="OpenAI project.",
    )
    # -- ours (prefixed OPENAI_IMAGE_MCP_) ------------------------------------------------
    workspace: Path = Field(
        default_factory=default_workspace,
        description="Folder for generated_images/ and the state database. Default: the per-user data folder.",
    )
    mainline_model: str = Field(
        default="gpt-5.4-mini",
        min_length=1,
        description="Default Responses API model that drives sessions (any model that supports the image tool).",
    )
    image_model: str = Field(
        default="gpt-image-2", min_length=1, description="Default image model (Responses tool and Images API)."
    )
    store_responses: bool = Field(
        default=True,
        description="Chain turns with previous_response_id (OpenAI stores responses). Set false for store=false "
        "organisations: turns are then replayed locally, trimmed to the last 50.",
    )
    result_budget_bytes: int = Field(
        default=100_000,
        ge=8_000,
        le=1_000_000,
        description="Upper bound on the JSON size of one tool result, preview image included.",
    )
    preview_max_side: int = Field(
        default=512, ge=64, le=2048, description="Longest side, in pixels, of the preview returned to the model."
    )
    request_timeout: float = Field(
        default=300.0, gt=0, description="Seconds one OpenAI request may take before it is abandoned."
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of the OpenAI SDK (429, 5xx, connection errors; Retry-After honoured).",
    )
    partial_images: int = Field(
        default=2,
        ge=0,
        le=3,
        description="Partial images OpenAI streams while drawing (0-3; each costs about 100 output tokens). "
        "They become progress notifications with a preview.",
    )
    wait_seconds: float = Field(
        default=45.0,
        ge=0,
        le=3600,
        description="Default time a generating tool waits before returning a job handle instead "
        "(below the common 60 s client limit).",
    )
    log_format: Literal["text", "json"] = Field(default="text", description="Log line format on stderr.")
    allowed_input_dirs: str = Field(
        default="",
        description="Folders (separated by the OS path separator, ':' or ';') whose images tools may read, "
        "besides the workspace. Symlinks may not lead outside them.",
    )
    max_input_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Largest input image file accepted, in bytes."
    )
    max_input_pixels: int = Field(
        default=40_000_000, ge=1024, description="Largest input image accepted, in pixels (decompression bombs)."
    )

    # -- remote use (HTTP) -------------------------------------------------------------------
    tokens_file: Path | None = Field(
        default=None,
        description="File of static bearer tokens: lines '<principal> <sha256-hex of the token> [scope ...]' "
        "(managed with 'openai-image-mcp token'). Turns on authentication over HTTP.",
    )
    public_url: str | None = Field(
        default=None,
        description="The URL clients reach this server's MCP endpoint at (e.g. https://img.example.com/mcp): the "
        "OAuth audience and the base of download/upload links. Default over HTTP: http://<host>:<port>/mcp.",
    )
    oauth_issuer: str | None = Field(
        default=None, description="OAuth 2.1 issuer whose JWT access tokens are accepted (turns OAuth on)."
    )
    oauth_jwks_url: str | None = Field(
        default=None, description="The issuer's JWKS URL (default: <issuer>/.well-known/jwks.json)."
    )
    oauth_principal_claim: str = Field(
        default="sub", min_length=1, description="The JWT claim that names the principal."
    )
    allowed_hosts: str = Field(
        default="",
        description="Extra Host header values accepted over HTTP, comma-separated host:port (behind a reverse proxy).",
    )
    allowed_origins: str = Field(
        default="", description="Extra Origin header values accepted over HTTP, comma-separated (scheme://host:port)."
    )
    rate_limit_per_minute: int = Field(
        default=0, ge=0, description="Generations one principal may start per minute (0 = no limit)."
    )
    max_concurrent_per_principal: int = Field(
        default=0, ge=0, description="Generations one principal may run at once (0 = no limit)."
    )
    link_expiry_seconds: int = Field(
        default=3600, ge=60, le=7 * 86_400, description="Default lifetime of download and upload links."
    )

    # -- scale-out -------------------------------------------------------------------------
    state_url: str | None = Field(
        default=None,
        description="Where records live: sqlite:///<path> (default: sqlite:///<workspace>/state.sqlite3), or "
        "redis://host:port/db (rediss:// for TLS) shared by several replicas.",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where image bytes live: file://<folder> (default: file://<workspace>/generated_images), or "
        "s3://bucket/prefix (credentials from the standard AWS_* variables).",
    )
    redis_prefix: str = Field(
        default="oim:",
        min_length=1,
        max_length=64,
        description="The prefix of every Redis key this server writes (several deployments can share one Redis).",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="The endpoint of an S3-compatible store (MinIO, R2, Ceph, ...) for an s3:// "
        "OPENAI_IMAGE_MCP_BLOB_URL.",
    )
    openai_rpm: int = Field(
        default=0,
        ge=0,
        description="OpenAI requests per minute per API key, shared by every replica on the same state (0 = no limit); "
        "calls over it wait for a slot instead of drawing 429s.",
    )
    lease_seconds: float = Field(
        default=15.0,
        ge=1,
        le=600,
        description="How long a replica's session locks and heartbeat last unrenewed: a replica that dies loses its "
        "locks, and its running turns are marked interrupted, this long after.",
    )
    replica_id: str | None = Field(
        default=None,
        max_length=64,
        description="This process's name among replicas (default: <hostname>-<pid>-<random>).",
    )

    # -- cost ------------------------------------------------------------------------------
    prices_file: Path | None = Field(
        default=None,
        description="A JSON price table (the packaged prices.json's format) whose models replace or add to the "
        "packaged one.",
    )
    budget_daily_usd: float | None = Field(default=None, ge=0, description="The whole server's spend per UTC day.")
    budget_monthly_usd: float | None = Field(default=None, ge=0, description="The whole server's spend per UTC month.")
    budget_principal_daily_usd: float | None = Field(
        default=None, ge=0, description="Each principal's spend per UTC day."
    )
    budget_principal_monthly_usd: float | None = Field(
        default=None, ge=0, description="Each principal's spend per UTC month."
    )
    allow_unpriced: bool = Field(
        default=False, description="Allow calls of models without a price while a budget is set."
    )

    @field_validator("workspace", mode="after")
    @classmethod
    def _expand_workspace(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("tokens_file", mode="after")
    @classmethod
    def _expand_tokens_file(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @property
    def api_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None

    @property
    def input_roots(self) -> list[Path]:
        """The workspace first, then the configured folders, resolved (symlinks followed)."""
        roots = [self.workspace]
        for part in split_folders(self.allowed_input_dirs, windows=os.name == "nt"):
            roots.append(Path(part).expanduser().resolve())
        return roots

    @property
    def images_root(self) -> Path:
        return self.workspace / "generated_images"

    @property
    def auth_enabled(self) -> bool:
        return self.tokens_file is not None or bool(self.oauth_issuer)

    @property
    def link_key_path(self) -> Path:
        return self.workspace / "link-key"

    @property
    def database_path(self) -> Path:
        return self.workspace / "state.sqlite3"
