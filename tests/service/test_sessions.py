"""Sessions (service/sessions.py): creating them, their folders."""

from __future__ import annotations

from pathlib import Path

import anyio

from openai_image_mcp.core.models import SessionRecord
from openai_image_mcp.core.principal import LOCAL
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service import ImageService
from openai_image_mcp.store.sqlite import SqliteStateStore
from openai_image_mcp.store.sqlite.sessions import SqliteSessionRepo


class ReadTogether:
    """A session repo whose ``folders()`` answers only once ``parties`` callers have read them: concurrent
    creations all look at the folders before any of them has inserted its session."""

    def __init__(self, inner: SqliteSessionRepo, parties: int) -> None:
        self._inner = inner
        self._parties = parties
        self._arrived = 0
        self._all = anyio.Event()

    async def folders(self) -> set[str]:
        taken = await self._inner.folders()
        self._arrived += 1
        if self._arrived >= self._parties:
            self._all.set()
        # A SessionBook that serializes creations keeps the other caller away: then only this short wait passes.
        with anyio.move_on_after(0.3):
            await self._all.wait()
        return taken

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class ReadTogetherState(SqliteStateStore):
    def __init__(self, path: Path, parties: int) -> None:
        super().__init__(path)
        self.sessions = ReadTogether(self.sessions, parties)  # type: ignore[assignment]


async def test_concurrent_style_series_sessions_get_their_own_folders(settings: Settings) -> None:
    service = ImageService(settings, state=ReadTogetherState(settings.database_path, parties=2))
    await service.lifecycle.start()
    made: list[SessionRecord] = []

    async def create() -> None:
        made.append(await service.create_session(LOCAL, "autumn leaves", None, None, style_series="Autumn"))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(create)
            tg.start_soon(create)
        assert len({s.folder for s in made}) == 2, [s.folder for s in made]
    finally:
        await service.lifecycle.stop()
