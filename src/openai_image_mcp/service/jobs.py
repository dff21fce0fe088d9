"""Generation jobs: every generating tool call runs as a job in the server's task group.

The tool waits for its job up to ``wait_seconds``. If the image is ready, the tool returns it; if
not, the tool returns a job handle at once and the job carries on, so a client's 60-second limit
never loses a paid result. ``get_generation_result`` waits on the same job later. While a caller
waits, the job's progress (stages and partial-image previews) is forwarded to it as MCP progress
notifications. Cancelling the waiting call cancels the job (the upstream request is closed); a job
that was left running by a handle is cancelled with ``cancel_generation``.

Across replicas (a shared :class:`~openai_image_mcp.store.ports.Coordinator`): a job runs on the replica that took
the call, and any replica can wait for it or cancel it. The running replica publishes the job's progress and its
end on the channel ``job:<id>``, and listens on ``cancel`` for cancels of its jobs; a waiter elsewhere subscribes
first, then reads the record, then waits for the end message (no polling of the store). If the running replica
dies, a survivor marks its jobs interrupted and publishes their end (see ``Lifecycle.watch_replicas``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import JobRecord
from openai_image_mcp.core.principal import LOCAL_NAME, Principal
from openai_image_mcp.service.runtime import with_side_tasks
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.ports import Coordinator, JobRepo

log = logging.getLogger(__name__)

Listener = Callable[[float, str], Awaitable[None]]

#: Seconds a job's end may take to record and announce (it is shielded from cancellation, so it needs a bound).
STORE_DEADLINE = 15.0
#: Finished jobs kept in memory for a fast get_generation_result; older ones are rebuilt from the DB.
KEEP_FINISHED = 64


class JobResult(Protocol):
    def summary(self) -> dict[str, Any]: ...


@dataclass(eq=False)
class Job:
    id: str
    kind: str
    session_id: str | None
    owner: str = LOCAL_NAME
    created_at: float = field(default_factory=time.time)
    status: str = "running"
    progress: float = 0.0
    message: str = "queued"
    result: Any = None
    error: errors.ImageServerError | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    listeners: list[Listener] = field(default_factory=list)
    shutdown: bool = False

    @property
    def interrupted(self) -> bool:
        """Cancelled from outside (the server shutting down), not by a caller's cancel."""
        return self.shutdown or not self.scope.cancel_called

    async def report(self, progress: float, message: str) -> None:
        """Record a stage and tell every waiting caller. Progress only ever increases: a report behind the current
        stage (a partial image saved beside the job, landing after "saving the image") is stale and dropped."""
        if progress < self.progress:
            return
        self.progress, self.message = progress, message
        for listener in list(self.listeners):
            try:
                await listener(self.progress, message)
            except Exception:  # a caller that went away must not break the job
                log.debug("dropping a progress listener that failed", exc_info=True)
                self.listeners.remove(listener)


class JobManager:
    def __init__(self, store: JobRepo, stats: ServerStats, clock: Clock, coordinator: Coordinator) -> None:
        self._store = store
        self._stats = stats
        self._clock = clock
        self._coord = coordinator
        self._tg: TaskGroup | None = None
        self._running: dict[str, Job] = {}
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._stopping = False

    def bind(self, tg: TaskGroup) -> None:
        self._tg = tg
        if self._coord.shared:
            tg.start_soon(self._listen_for_cancels, name="job cancels from other replicas")

    async def _listen_for_cancels(self) -> None:
        """Cancels sent by other replicas for jobs this one runs (the caller's cancel: ``cancelled``, not
        ``interrupted``)."""
        while not self._stopping:
            try:
                async with self._coord.subscribe("cancel") as messages:
                    async for message in messages:
                        job = self._running.get(str(message.get("job", "")))
                        if job is not None:
                            job.scope.cancel()
            except errors.ImageServerError as exc:
                log.warning("listening for cancels failed (%s); listening again", exc.message)
                await anyio.sleep(1)

    async def _announce(self, job_id: str, message: dict[str, Any]) -> None:
        try:
            await self._coord.publish(f"job:{job_id}", message)
        except errors.ImageServerError as exc:  # waiters elsewhere then see the end when their wait runs out
            log.warning("could not announce job %s: %s", job_id, exc.message)

    async def stop(self) -> None:
        """Server shutdown: running jobs are cancelled and recorded as interrupted."""
        self._stopping = True
        for job in list(self._running.values()):
            job.shutdown = True
            job.scope.cancel()
        with anyio.move_on_after(5):
            for job in list(self._running.values()):
                await job.done.wait()

    async def submit(
        self,
        kind: str,
        runner: Callable[[Job], Awaitable[JobResult]],
        *,
        owner: str,
        session_id: str | None = None,
    ) -> Job:
        if self._tg is None or self._stopping:
            raise errors.ImageServerError("The server is not running or is shutting down; retry in a moment.")
        job = Job(id=uuid.uuid4().hex, kind=kind, session_id=session_id, owner=owner, created_at=self._clock.now())
        await self._store.create(job.id, kind, session_id, owner=owner, now=job.created_at)
        if self._coord.shared:

            async def tell(progress: float, message: str) -> None:
                await self._announce(job.id, {"type": "progress", "progress": progress, "message": message})

            job.listeners.append(tell)
        self._running[job.id] = job
        self._tg.start_soon(self._run, job, runner, name=f"job {kind} {job.id}")
        return job

    async def _run(self, job: Job, runner: Callable[[Job], Awaitable[JobResult]]) -> None:
        status, error_type, error, summary = "failed", None, None, None
        try:
            with job.scope:
                job.result = await with_side_tasks(lambda: runner(job))
                status, summary = "succeeded", job.result.summary()
        except errors.ImageServerError as exc:
            job.error, error_type, error = exc, exc.error_type, exc.message
        except Exception as exc:
            log.exception("generation job %s crashed", job.id)
            job.error = errors.ImageServerError(
                f"Internal error in {job.kind}; the server log has the details.", error_type="internal_error"
            )
            error_type, error = "internal_error", repr(exc)
        finally:
            if job.result is None and job.error is None:  # cancelled: by a caller, or by shutdown
                interrupted = job.interrupted
                status = "interrupted" if interrupted else "cancelled"
                job.error = errors.GenerationCancelled(
                    "The server stopped before this generation finished."
                    if interrupted
                    else "The generation was cancelled; nothing was saved.",
                    error_type=status,
                )
                error_type, error = job.error.error_type, job.error.message
            job.status = status
            if error_type is not None:
                self._stats.record_failure(error_type)
            ended = False
            with anyio.CancelScope(shield=True), anyio.move_on_after(STORE_DEADLINE):
                try:
                    ended = await self._store.finish(
                        job.id,
                        status,
                        now=self._clock.now(),
                        message=job.message,
                        error_type=error_type,
                        error=error,
                        result=summary,
                    )
                except errors.ImageServerError:
                    log.exception("could not record the end of job %s", job.id)
                if self._coord.shared and ended:  # not twice: a survivor that marked it interrupted announced it
                    await self._announce(job.id, {"type": "end", "status": status})
            self._running.pop(job.id, None)
            self._finished[job.id] = job
            while len(self._finished) > KEEP_FINISHED:
                self._finished.popitem(last=False)
            job.done.set()

    def find(self, principal: Principal, job_id: str) -> Job | None:
        """A job of this process that ``principal`` may see."""
        job = self._running.get(job_id) or self._finished.get(job_id)
        if job is None or principal.owner_filter not in (None, job.owner):
            return None
        return job

    def forget(self, job: Job) -> None:
        """The result reached its caller: drop the in-memory copy (the DB keeps the summary)."""
        if job.done.is_set():
            self._finished.pop(job.id, None)

    async def wait(self, job: Job, seconds: float, listener: Listener | None) -> bool:
        """Wait up to ``seconds``; True when the job is done. If the waiting call itself is
        cancelled (the client gave up), the job is cancelled too."""
        try:
            if listener is not None:
                job.listeners.append(listener)
                await listener(job.progress, job.message)
            with anyio.move_on_after(seconds):
                await job.done.wait()
        except anyio.get_cancelled_exc_class():
            job.scope.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await job.done.wait()
            raise
        finally:
            if listener is not None and listener in job.listeners:
                job.listeners.remove(listener)
        return job.done.is_set()

    def cancel(self, job: Job) -> bool:
        if self._running.get(job.id) is not job:
            return False
        job.scope.cancel()
        return True

    async def wait_elsewhere(
        self, principal: Principal, job_id: str, seconds: float, listener: Listener | None
    ) -> JobRecord | None:
        """Wait up to ``seconds`` for a job another replica runs; its record then (None: not found)."""
        owner = principal.owner_filter
        async with self._coord.subscribe(f"job:{job_id}") as messages:
            record = await self._store.get(job_id, owner=owner)
            if record is None or record.status != "running" or not self._coord.shared:
                return record
            if listener is not None:
                await listener(0.0, record.message or "running on another replica")
            try:
                with anyio.move_on_after(seconds):
                    async for message in messages:
                        if message.get("type") == "end":
                            break
                        if listener is not None and message.get("type") == "progress":
                            try:
                                await listener(float(message.get("progress", 0)), str(message.get("message", "")))
                            except Exception:  # a caller that went away must not end the wait with an error
                                listener = None
            except anyio.get_cancelled_exc_class():  # the waiting call was cancelled: so is the job, as here
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await self._coord.publish("cancel", {"job": job_id})
                raise
        return await self._store.get(job_id, owner=owner)

    async def cancel_elsewhere(self, principal: Principal, record: JobRecord, *, seconds: float = 15) -> JobRecord:
        """Ask the replica running ``record``'s job to cancel it; its record once it has stopped."""
        async with self._coord.subscribe(f"job:{record.id}") as messages:
            now = await self._store.get(record.id, owner=principal.owner_filter)
            if now is None or now.status != "running":
                return now or record
            await self._coord.publish("cancel", {"job": record.id})
            with anyio.move_on_after(seconds):
                async for message in messages:
                    if message.get("type") == "end":
                        break
        return await self._store.get(record.id, owner=principal.owner_filter) or record

    async def record(self, principal: Principal, job_id: str) -> JobRecord | None:
        return await self._store.get(job_id, owner=principal.owner_filter)

    @property
    def running(self) -> int:
        return len(self._running)
