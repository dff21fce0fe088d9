"""The state store on SQLite: one file, WAL, numbered migrations."""

from openai_image_mcp.store.sqlite.state import SqliteStateStore

__all__ = ["SqliteStateStore"]
