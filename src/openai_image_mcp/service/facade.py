"""The service: one facade with a method per use case, independent of MCP.

:class:`ImageService` assembles the collaborators (the state and blob stores, the provider, the jobs,
the flows) and hands each flow exactly the ones it needs. Every use case takes the caller's
:class:`~openai_image_mcp.core.principal.Principal` first and sees only that principal's records (all of
them for an admin). Generating use cases return a :class:`~openai_image_mcp.service.jobs.Job`: the tool
waits for it or hands out its id.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock, SystemClock
from openai_image_mcp.core.models import ImageOptions, ImageRecord, JobRecord, SessionRecord, TurnRecord
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.attachments import Attacher
from openai_image_mcp.service.flows import LazyFlows
from openai_image_mcp.service.image_models import ModelCatalog
from openai_image_mcp.service.inputs import InputResolver
from openai_image_mcp.service.jobs import Job, JobManager, Listener
from openai_image_mcp.service.lifecycle import Lifecycle
from openai_image_mcp.service.limits import FairUse, RequestPacer
from openai_image_mcp.service.links import Link
from openai_image_mcp.service.outcome import Generation
from openai_image_mcp.service.presets import ProductPlan, UIPlan
from openai_image_mcp.service.pricing import PriceTable
from openai_image_mcp.service.runtime import Background, ProviderFactory, ProviderHandle
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.service.stats import ServerStats, current_rss_bytes
from openai_image_mcp.service.transfer import Transfers
from openai_image_mcp.store import backends
from openai_image_mcp.store.local import LocalCoordinator
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore

if TYPE_CHECKING:
    from openai_image_mcp.imaging.previews import Preview
    from openai_image_mcp.service.attachments import Attachments

log = logging.getLogger(__name__)

Runner = Callable[[Job], Awaitable[Generation]]


class ImageService(LazyFlows):
    def __init__(
        self,
        settings: Settings,
        *,
        provider_factory: ProviderFactory | None = None,
        state: StateStore | None = None,
        blobs: BlobStore | None = None,
        clock: Clock | None = None,
        coordinator: Coordinator | None = None,
    ) -> None:
        """By default the stores and the coordinator the settings' URLs name (see
        :mod:`~openai_image_mcp.store.backends`): SQLite, the workspace folder and the in-process coordinator unless
        configured otherwise."""
        self.settings = settings
        self.clock = clock or SystemClock()
        replica = settings.replica_id or (state.replica if state is not None else backends.new_replica_id())
        self.state: StateStore = state or backends.state_store(settings, replica=replica)
        self.blobs: BlobStore = blobs or backends.blob_store(settings)
        self.coordinator: Coordinator = coordinator or (
            LocalCoordinator(replica=replica, clock=self.clock, lock_path=backends.process_lock_path(settings))
            if state is not None
            else backends.coordinator(settings, replica=replica, clock=self.clock)
        )
        self.stats = ServerStats()
        self.provider = ProviderHandle(settings, provider_factory)
        # Image CPU work (decode, hash, preview) in at most as many threads as cores: more threads would
        # only queue on the GIL and make the event loop wait behind them.
        cpu = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
        resolver = InputResolver(
            settings.input_roots, max_bytes=settings.max_input_bytes, max_pixels=settings.max_input_pixels
        )
        state, blobs, clock = self.state, self.blobs, self.clock
        self.jobs = JobManager(state.jobs, self.stats, clock, self.coordinator)
        self.background = Background()
        self.sessions = SessionBook(
            settings=settings, state=state, blobs=blobs, clock=clock, background=self.background
        )
        self.attacher = Attacher(
            resolver=resolver, state=state, blobs=blobs, provider=self.provider, cpu=cpu, clock=clock,
            request_timeout=settings.request_timeout,
        )  # fmt: skip
        self.catalog = ModelCatalog()
        self.prices = PriceTable.load(settings.prices_file)  # a bad OPENAI_IMAGE_MCP_PRICES_FILE stops the start
        self._cpu, self._resolver = cpu, resolver
        self.transfers = Transfers(
            state=state, blobs=blobs, resolver=resolver, cpu=cpu, clock=clock,
            default_expiry=settings.link_expiry_seconds,
        )  # fmt: skip
        self.lifecycle = Lifecycle(
            settings=settings, state=state, blobs=blobs, jobs=self.jobs, provider=self.provider,
            sessions=self.sessions, attacher=self.attacher, transfers=self.transfers, stats=self.stats, clock=clock,
            catalog=self.catalog, coordinator=self.coordinator, background=self.background,
        )  # fmt: skip
        self.fair_use = FairUse(
            self.coordinator, per_minute=settings.rate_limit_per_minute,
            concurrent=settings.max_concurrent_per_principal, running_ttl=4 * settings.request_timeout + 60,
        )  # fmt: skip
        self.pacer = RequestPacer(self.coordinator, rpm=settings.openai_rpm, api_key=settings.api_key)

    # -- lifecycle (see service/lifecycle.py) ----------------------------------------------
    async def wait_ready(self) -> None:
        await self.lifecycle.wait_ready()

    async def readiness(self) -> dict[str, str]:
        return await self.lifecycle.readiness()

    async def cleanup_uploads(self) -> None:
        await self.lifecycle.cleanup_uploads()

    # -- sessions --------------------------------------------------------------------------
    async def create_session(
        self, who: Principal, description: str, model: str | None, name: str | None, *, style_series: str | None
    ) -> SessionRecord:
        return await self.sessions.create(who, description, model, name, style_series=style_series)

    async def session_status(
        self, who: Principal, session_id: str
    ) -> tuple[SessionRecord, list[TurnRecord], list[ImageRecord]]:
        rec, turns = await self.sessions.history(who, session_id)
        return rec, turns, await self.state.images.for_session(session_id)

    async def list_sessions(self, who: Principal, status: str | None = "active") -> list[SessionRecord]:
        return await self.sessions.list_sessions(who, status)

    async def close_session(self, who: Principal, session_id: str) -> SessionRecord:
        rec, closed = await self.sessions.close(who, session_id)
        if closed:
            await self.cleanup_uploads()
        return rec

    # -- generating (each returns the job) --------------------------------------------------
    async def _submit(self, who: Principal, kind: str, runner: Runner, session_id: str | None) -> Job:
        """Submit a generation of ``who``, within the fair-use limits (checked before anything is sent)."""
        ticket = uuid.uuid4().hex
        await self.fair_use.acquire(who.name, ticket)

        async def run(job: Job) -> Generation:
            try:
                return await runner(job)
            finally:
                await self.fair_use.release(who.name, ticket)

        try:
            return await self.jobs.submit(kind, run, owner=who.name, session_id=session_id)
        except BaseException:
            await self.fair_use.release(who.name, ticket)
            raise

    async def generate_in_session(
        self,
        who: Principal,
        session_id: str,
        prompt: str,
        options: ImageOptions,
        *,
        reference: str | None = None,
        mask: str | None = None,
    ) -> Job:
        refs = [reference] if reference else []

        async def attach(session: SessionRecord) -> Attachments:
            return await self.attacher.for_turn(who, session, references=refs, mask=mask)

        return await self._submit(
            who,
            "generate_image_in_session",
            lambda job: self.generator.in_session(
                who, session_id, prompt, options, job, attach=attach, input_images=len(refs) + (1 if mask else 0)
            ),
            session_id,
        )

    async def generate(
        self,
        who: Principal,
        prompt: str,
        options: ImageOptions,
        *,
        model: str | None,
        use_case: str,
        session_id: str | None,
    ) -> Job:
        gen = self.generator
        runner: Runner
        if session_id:
            sid = session_id

            def runner(job: Job) -> Awaitable[Generation]:
                return gen.in_session(who, sid, prompt, options, job, use_case=use_case)
        else:

            def runner(job: Job) -> Awaitable[Generation]:
                return gen.one_shot(who, prompt, options, job, model=model, use_case=use_case)

        return await self._submit(who, "generate_image", runner, session_id)

    async def edit(
        self,
        who: Principal,
        image: str,
        prompt: str,
        options: ImageOptions,
        *,
        references: list[str],
        mask: str | None,
        input_fidelity: str | None,
        session_id: str | None,
    ) -> Job:
        return await self._submit(
            who,
            "edit_image",
            lambda job: self.editor.edit(
                who,
                image,
                prompt,
                job,
                options=options,
                references=references,
                mask=mask,
                input_fidelity=input_fidelity,
                session_id=session_id,
            ),
            session_id,
        )

    async def analyze(
        self, who: Principal, image: str, goals: str, preserve: str | None, *, session_id: str | None
    ) -> Job:
        return await self._submit(
            who,
            "analyze_and_improve_image",
            lambda job: self.editor.analyze_and_improve(who, image, goals, preserve, job, session_id=session_id),
            session_id,
        )

    async def product(
        self, who: Principal, product: str, plan: ProductPlan, quality: str, *, session_id: str | None
    ) -> Job:
        from openai_image_mcp.service import assets

        return await self._submit(
            who,
            "generate_product_image",
            lambda job: assets.product_batch(self.generator, who, product, plan, quality, job, session_id=session_id),
            session_id,
        )

    async def ui_asset(
        self, who: Principal, asset_type: str, plan: UIPlan, quality: str, *, session_id: str | None
    ) -> Job:
        from openai_image_mcp.service import assets

        return await self._submit(
            who,
            "generate_ui_asset",
            lambda job: assets.ui_asset(self.generator, who, asset_type, plan, quality, job, session_id=session_id),
            session_id,
        )

    async def promote(
        self, who: Principal, image: str, description: str, name: str | None
    ) -> tuple[SessionRecord, ImageRecord]:
        return await self.editor.promote(who, image, description, name)

    # -- jobs ------------------------------------------------------------------------------
    async def wait(self, job: Job, seconds: float, listener: Listener | None) -> bool:
        """Wait up to ``seconds`` for ``job`` (cancelling the wait cancels the job); True when it is done."""
        done = await self.jobs.wait(job, seconds, listener)
        if done:
            self.jobs.forget(job)
        return done

    def find_job(self, who: Principal, job_id: str) -> Job | None:
        """A job of this process that ``who`` may see."""
        return self.jobs.find(who, job_id)

    async def job_record(self, who: Principal, job_id: str) -> JobRecord:
        record = await self.jobs.record(who, job_id)
        if record is None:
            raise errors.JobNotFound(f"No generation job with id '{job_id}'.")
        return record

    async def finished_result(self, record: JobRecord) -> Generation:
        """The result of a job that succeeded, rebuilt from its rows (previews are made again)."""
        return await self.generator.filer.rebuild(record.result or {})

    async def await_elsewhere(
        self, who: Principal, job_id: str, seconds: float, listener: Listener | None
    ) -> JobRecord:
        """A job this process does not run (another replica does, or did): its record once it ends, or after
        ``seconds`` (still ``running``). Progress reaches ``listener`` through the coordinator."""
        record = await self.jobs.wait_elsewhere(who, job_id, seconds, listener)
        if record is None:
            raise errors.JobNotFound(f"No generation job with id '{job_id}'.")
        return record

    async def cancel(self, who: Principal, job_id: str) -> Job | JobRecord:
        """Cancel a running job, of this process or of another replica; returns it once it has stopped."""
        job = self.jobs.find(who, job_id)
        if job is None:
            record = await self.job_record(who, job_id)  # not found, or:
            if record.status != "running" or not self.coordinator.shared:
                raise errors.InvalidInput(f"Job '{job_id}' is not running any more.")
            return await self.jobs.cancel_elsewhere(who, record)
        if self.jobs.cancel(job):
            await job.done.wait()
        return job

    # -- browsing --------------------------------------------------------------------------
    async def browse(self, who: Principal, **filters: Any) -> tuple[list[ImageRecord], int]:
        return await self.browser.search(who, **filters)

    async def find_images(self, who: Principal, refs: list[str]) -> list[ImageRecord]:
        return [await self.browser.find(who, ref) for ref in refs]

    async def preview(self, records: list[ImageRecord], *, max_side: int, max_bytes: int) -> Preview:
        return await self.browser.view(records, max_side=max_side, max_bytes=max_bytes)

    async def read_image(self, who: Principal, image_id: str, mime_type: str) -> bytes:
        return await self.browser.full_image(who, image_id, mime_type)

    async def partial_preview(self, who: Principal, job_id: str, index: int) -> bytes:
        return await self.browser.partial_preview(who, job_id, index)

    async def recent(self, who: Principal, *, images: int) -> tuple[list[SessionRecord], list[ImageRecord]]:
        """The caller's open sessions and newest images (for ``resources/list``)."""
        newest, _ = await self.browser.search(who, limit=images)
        return await self.sessions.list_sessions(who, "active"), newest

    # -- links -----------------------------------------------------------------------------
    async def download_link(self, who: Principal, image_id: str, expires_in: float | None) -> tuple[str, Link]:
        return await self.transfers.download_link(who, image_id, expires_in)

    def upload_link(self, who: Principal, expires_in: float | None) -> tuple[str, Link]:
        return self.transfers.upload_link(who, expires_in)

    async def download(self, token: str) -> tuple[ImageRecord, bytes]:
        return await self.transfers.download(token)

    async def upload(self, token: str, data: bytes) -> ImageRecord:
        return await self.transfers.upload(token, data)

    # -- money -----------------------------------------------------------------------------
    async def estimate(self, who: Principal, options: ImageOptions, **knobs: Any) -> dict[str, Any]:
        """The worst-case cost of a call (``dry_run``), with the budgets; nothing is sent to OpenAI."""
        return await self.usage.estimate(who, options, **knobs)

    async def usage_report(self, who: Principal, **query: Any) -> dict[str, Any]:
        return await self.usage.report(who, **query)

    # -- stats -----------------------------------------------------------------------------
    async def server_stats(self, who: Principal) -> dict[str, Any]:
        st, owner = self.stats, who.owner_filter
        if who.remote and not who.is_admin:  # the process-wide figures would show other users' activity
            return {
                "uptime_seconds": st.uptime_seconds(),
                "sessions": await self.state.sessions.counts(owner=owner),
                "images_total": await self.state.images.count(owner=owner),
                "spend": await self.usage.spend(who),
            }
        return {
            "pid": None if who.remote else os.getpid(),
            "uptime_seconds": st.uptime_seconds(),
            "sessions": await self.state.sessions.counts(owner=owner),
            "generations": {
                "succeeded": st.generations_ok,
                "failed": sum(st.failures.values()),
                "failed_by_error_type": dict(st.failures),
                "images_saved": st.images_saved,
            },
            "openai_latency": st.latency_summary(),
            "images_total": await self.state.images.count(owner=owner),
            "memory_rss_mb": round(current_rss_bytes() / 1_048_576, 1),
            "spend": await self.usage.spend(who),
        }
