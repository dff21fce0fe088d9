"""Durable state: sessions, turns and images in SQLite (WAL, numbered migrations)."""

from openai_image_mcp.store.db import Database
from openai_image_mcp.store.images import ImageStore
from openai_image_mcp.store.sessions import SessionStore

__all__ = ["Database", "ImageStore", "SessionStore"]
