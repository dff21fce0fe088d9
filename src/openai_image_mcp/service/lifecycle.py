"""The service's life: opening the stores (and cleaning what a crash left), readiness, housekeeping while
it runs, and stopping."""

from __future__ import annotations

import logging

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.attachments import Attacher
from openai_image_mcp.service.image_models import ModelCatalog
from openai_image_mcp.service.jobs import JobManager
from openai_image_mcp.service.runtime import Background, ProviderHandle
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.service.transfer import Transfers
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore

log = logging.getLogger(__name__)

#: How often the models' shutdown dates are refreshed from OpenAI (seconds).
MODELS_EVERY = 86_400.0


class Lifecycle:
    def __init__(
        self,
        *,
        settings: Settings,
        state: StateStore,
        blobs: BlobStore,
        jobs: JobManager,
        provider: ProviderHandle,
        sessions: SessionBook,
        attacher: Attacher,
        transfers: Transfers,
        stats: ServerStats,
        clock: Clock,
        catalog: ModelCatalog,
        coordinator: Coordinator,
        background: Background,
    ) -> None:
        self._settings = settings
        self._state = state
        self._blobs = blobs
        self._jobs = jobs
        self._provider = provider
        self._sessions = sessions
        self._attacher = attacher
        self._transfers = transfers
        self._stats = stats
        self._clock = clock
        self._catalog = catalog
        self._coord = coordinator
        self._background = background
        self._ready = anyio.Event()
        self._start_error: errors.ImageServerError | None = None

    async def start(self) -> None:
        await self._blobs.open()
        await self._state.open()
        await self._coord.open()
        await self._transfers.open(self._settings.link_key_path, self._coord)
        now = self._clock.now()
        if self._coord.shared:  # other replicas are at work on this state: only what dead ones left is cleaned
            if not await self._coord.announce(ttl=self._settings.lease_seconds):
                raise errors.StorageError(
                    f"Another live replica is already named '{self._coord.replica}': give each replica its own "
                    "OPENAI_IMAGE_MCP_REPLICA_ID, or leave it unset."
                )
            await self._interrupt(self._coord.replica, now, release_names=True)  # an earlier life under this name
            await self.sweep_dead_replicas()
        elif await self._coord.alone():  # the only process on this workspace: what is in flight, a crash left
            await self._interrupt(None, now, release_names=True)
        else:
            log.info("another server process uses this workspace; leaving what it has in flight alone")
        # a call holds its reservation at most REQUEST_TIMEOUT (and the retries in it): older ones were left by a
        # stopped process, younger ones may belong to another process on this workspace
        await self._state.ledger.drop_reservations(older_than=now - 2 * self._settings.request_timeout)

    async def _interrupt(self, replica: str | None, now: float, *, release_names: bool) -> None:
        """End what ``replica`` (every replica: None) left in flight: pending turns and running jobs first (whose
        waiters elsewhere are told), then image files it wrote without a record. Their names are released only when
        nobody can still be writing them (``release_names``): a replica swept as dead may merely have stalled, and
        if it wakes it must find its names still its own, not another writer's."""
        whose = "a crash" if replica is None else f"replica {replica}"
        interrupted = await self._state.sessions.mark_interrupted(now=now, replica=replica)
        if interrupted:
            log.warning("%d turn(s) were in flight when %s stopped; marked interrupted", interrupted, whose)
        for job_id in await self._state.jobs.mark_interrupted(now=now, replica=replica):
            if self._coord.shared:
                await self._coord.publish(f"job:{job_id}", {"type": "end", "status": "interrupted"})
        orphans = await self._state.journal.orphans(replica=replica)
        if orphans:
            await self._blobs.delete_images(orphans)
            if release_names:
                await self._state.journal.clear(orphans)
            log.warning("removed %d image file(s) %s left without a record: %s", len(orphans), whose, orphans)

    async def sweep_dead_replicas(self) -> list[str]:
        """Replicas whose heartbeat ran out: one survivor (whichever claims it) interrupts their work."""
        swept = []
        for replica in await self._coord.dead_replicas():
            if await self._coord.claim(f"sweep:{replica}", ttl=self._settings.lease_seconds):
                log.warning("replica %s stopped answering; interrupting its work", replica)
                await self._interrupt(replica, self._clock.now(), release_names=False)
                await self._coord.forget_replica(replica)
                swept.append(replica)
        return swept

    async def watch_replicas(self) -> None:
        """Runs for the server's life on a shared state: the heartbeat every third of the lease, and, apart from it
        (a slow sweep must not let this replica's own heartbeat lapse), the sweep of dead replicas, so a dead
        replica's turns are marked interrupted within the lease."""
        if not self._coord.shared:
            return
        await self._ready.wait()
        if self._start_error is not None:
            return
        every = self._settings.lease_seconds / 3

        async def beat() -> None:
            while True:
                await anyio.sleep(every)
                try:
                    with anyio.fail_after(every):
                        await self._coord.heartbeat(ttl=self._settings.lease_seconds)
                except (errors.ImageServerError, TimeoutError) as exc:
                    log.warning("could not renew this replica's heartbeat: %s", exc)

        async def sweep() -> None:
            while True:
                await anyio.sleep(every)
                try:
                    with anyio.move_on_after(self._settings.lease_seconds):
                        await self.sweep_dead_replicas()
                except errors.ImageServerError as exc:
                    log.warning("sweeping dead replicas failed: %s", exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(beat)
            tg.start_soon(sweep)

    async def start_in_background(self) -> None:
        """:meth:`start` off the start-up path, so ``tools/list`` answers at once; calls that need the state
        wait for :meth:`wait_ready`. A failure (an unwritable workspace) is kept and reported by every call."""
        try:
            await self.start()
        except errors.ImageServerError as exc:
            log.error("the server cannot use its workspace: %s", exc.message)
            self._start_error = exc
        finally:
            self._ready.set()

    async def wait_ready(self) -> None:
        await self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    async def stop(self) -> None:
        await self._jobs.stop()
        await self._background.drain()
        await self._provider.aclose()
        await self._coord.close()
        await self._state.close()

    async def housekeeping(self, every: float = 60.0) -> None:
        """Runs for the server's life, off the start-up path: removes what a crash left (hidden temporary
        files, old partial previews), then every minute expires idle sessions and deletes their uploads, and
        once a day (the first time a minute after start) refreshes the models' shutdown dates from OpenAI."""
        await self._ready.wait()
        if self._start_error is not None:
            return
        refreshed = -MODELS_EVERY
        removed = await self._blobs.sweep(older_than=self._stats.started_at)
        if removed:
            log.warning("removed %d temporary file(s) left by an earlier crash", removed)
        while True:
            await anyio.sleep(every)
            try:
                await self._sessions.expire_idle()
                await self.cleanup_uploads()
                if self._clock.monotonic() - refreshed >= MODELS_EVERY:
                    refreshed = self._clock.monotonic()
                    await self.refresh_models()
            except errors.ImageServerError as exc:
                log.warning("housekeeping failed: %s", exc)

    async def refresh_models(self) -> None:
        """Shutdown dates from ``GET /v1/models`` (best effort: the table in the package stands otherwise)."""
        if not self._settings.api_key:
            return
        try:
            with anyio.fail_after(15):
                provider = await self._provider.get()
                changed = self._catalog.merge_shutdowns(await provider.list_models())
        except (errors.ImageServerError, TimeoutError) as exc:
            log.info("could not refresh the model list from OpenAI: %s", exc)
            return
        if changed:
            log.info("OpenAI announced %d new model shutdown date(s)", changed)

    async def cleanup_uploads(self) -> None:
        """Delete the OpenAI files of closed and expired sessions (best effort: retried later)."""
        try:
            await self._attacher.delete_stale_uploads()
        except errors.ImageServerError as exc:
            log.warning("could not clean up uploaded files: %s", exc)

    async def readiness(self) -> dict[str, str]:
        """What /readyz reports: the state store answers, the blob store takes a write. Raises on failure."""
        await self.wait_ready()
        await self._state.sessions.counts(owner=None)
        if self._coord.shared:
            await self._coord.heartbeat(ttl=self._settings.lease_seconds)
        probe = self._blobs.ref(".readyz-probe")
        await self._blobs.put(probe, b"ok")
        await self._blobs.delete_images([probe])
        return {"state": "ok", "blobs": "ok"}
