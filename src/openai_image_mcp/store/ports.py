"""The ports the service stores through: a state store and a blob store.

The state store holds the records (sessions and their turns, images, generation jobs, files uploaded
to OpenAI, and the write-ahead journal of image files); the blob store holds bytes (images with their
metadata sidecars, conversation logs, partial-image previews). SQLite and the workspace folder are the
first implementations (:mod:`.sqlite`, :mod:`.files`); ``tests/store/`` holds one contract suite per
port that every implementation must pass.

Owners: every session, turn, image, job and upload has an owner (a principal's name). Reads take
``owner``: a name limits the answer to that owner's records, ``None`` means every owner (an admin).
A record of another owner is simply not found.

Blob refs: a blob is named by a *ref*, the string records keep (``ImageRecord.path``,
``SessionRecord.folder``). The service plans the original folder layout as relative keys
(``sessions/<id>/images/image_001.png``) and asks :meth:`BlobStore.ref` for the ref of a key; the file
store's refs are absolute paths, so the rows written before the ports existed stay valid.

Replicas: several server processes may share one state store (Redis). Each store is built with the id of
its process (``replica``) and tags what a running process owns with it: pending turns, running jobs,
journal entries. When a replica dies, a survivor interrupts exactly that replica's work
(``mark_interrupted(replica=...)``, ``orphans(replica=...)``); ``replica=None`` means every replica (a
single process starting). A session's turns are fenced: the holder of the session's lock passes the lock's
fencing token to ``begin_turn`` and ``complete_turn``, and the store refuses (:class:`LeaseLost`) to commit
a turn for a token older than the newest it has seen, or a turn no longer pending.

The :class:`~openai_image_mcp.store.coordinator.Coordinator` (the third port, in :mod:`.coordinator`, named here
too) is what replicas share beyond records: locks with leases, messages, limits and the liveness of replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from openai_image_mcp.core.models import (
    BudgetExceededInfo,
    BudgetLimit,
    ImageRecord,
    JobRecord,
    LedgerEntry,
    SessionRecord,
    TurnRecord,
    TurnStatus,
)
from openai_image_mcp.store.coordinator import Coordinator, Lease


class SessionRepo(Protocol):
    async def create(
        self, rec: SessionRecord, *, max_active: int, now: float, idle_timeout: float
    ) -> list[SessionRecord]:
        """Insert ``rec`` unless its owner has ``max_active`` sessions open; then return the most idle open ones
        (at most 5) instead. Sessions idle for ``idle_timeout`` are expired first."""
        ...

    async def get(
        self, session_id: str, *, owner: str | None, now: float, idle_timeout: float
    ) -> SessionRecord | None: ...

    async def list_sessions(
        self, *, owner: str | None, now: float, idle_timeout: float, status: str | None = "active"
    ) -> list[SessionRecord]:
        """Newest activity first; ``status=None`` lists every status."""
        ...

    async def folders(self) -> set[str]:
        """The folder refs of every session of every owner (a new style series must not reuse one)."""
        ...

    async def counts(self, *, owner: str | None) -> dict[str, int]:
        """Sessions by status."""
        ...

    async def expire_idle(self, *, now: float, idle_timeout: float) -> list[str]: ...

    async def close(self, session_id: str, *, now: float) -> bool: ...

    async def begin_turn(
        self,
        session_id: str,
        prompt: str,
        params: dict[str, Any],
        previous_response_id: str | None,
        *,
        now: float,
        fence: int | None = None,
    ) -> TurnRecord:
        """A ``pending`` turn numbered one after the session's last (numbers are never reused), tagged with this
        store's replica. With ``fence``, the session remembers the highest fence seen; a lower one raises
        :class:`~openai_image_mcp.core.errors.LeaseLost` and begins nothing."""
        ...

    async def complete_turn(
        self,
        turn: TurnRecord,
        *,
        response_id: str | None,
        model_text: str,
        usage: dict[str, Any],
        images: Sequence[ImageRecord],
        now: float,
        fence: int | None = None,
    ) -> None:
        """Atomically: the turn's images (out of the journal), its outcome, and the session's chain. Raises
        :class:`~openai_image_mcp.core.errors.LeaseLost` and writes nothing when the turn is no longer ``pending``
        (a survivor marked it interrupted) or, with ``fence``, when the session has seen a higher fence."""
        ...

    async def end_turn(self, turn_id: str, status: TurnStatus, *, error_type: str, error: str, now: float) -> None:
        """End a ``pending`` turn; a turn already ended keeps its status."""
        ...

    async def turns(self, session_id: str) -> list[TurnRecord]: ...

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> int:
        """Pending turns of ``replica`` (of every replica when None) become ``interrupted``; returns how many."""
        ...


class ImageRepo(Protocol):
    async def add(self, records: Sequence[ImageRecord]) -> None:
        """Commit rows, taking their refs out of the journal in the same transaction."""
        ...

    async def get(self, image_id: str, *, owner: str | None) -> ImageRecord | None: ...

    async def by_path(self, path: str, *, owner: str | None) -> ImageRecord | None: ...

    async def for_session(self, session_id: str) -> list[ImageRecord]:
        """Oldest first."""
        ...

    async def search(
        self,
        *,
        owner: str | None,
        session_id: str | None = None,
        use_case: str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[ImageRecord], int]:
        """One page, newest first, and the total that match."""
        ...

    async def count(self, *, owner: str | None) -> int: ...

    async def total_bytes(self, *, owner: str | None) -> int:
        """The size of the images' files, together."""
        ...


class JobRepo(Protocol):
    async def create(self, job_id: str, kind: str, session_id: str | None, *, owner: str, now: float) -> None:
        """A ``running`` job, tagged with this store's replica."""
        ...

    async def finish(
        self,
        job_id: str,
        status: str,
        *,
        now: float,
        message: str = "",
        error_type: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        """End a ``running`` job; False (nothing changed) when it already ended, e.g. a survivor marked it
        interrupted while this replica was stalled."""
        ...

    async def get(self, job_id: str, *, owner: str | None) -> JobRecord | None: ...

    async def mark_interrupted(self, *, now: float, replica: str | None = None) -> list[str]:
        """Running jobs of ``replica`` (of every replica when None) become ``interrupted``; returns their ids."""
        ...


class UploadRepo(Protocol):
    async def find(self, session_id: str | None, sha256: str) -> str | None:
        """The live file id of these bytes uploaded for this session."""
        ...

    async def add(
        self, file_id: str, session_id: str | None, sha256: str, size: int, *, owner: str, now: float
    ) -> None: ...

    async def stale(self, *, one_off_before: float) -> list[str]:
        """Live uploads of sessions no longer active, and one-off uploads older than ``one_off_before``."""
        ...

    async def mark_deleted(self, file_id: str, *, now: float) -> None: ...


class JournalRepo(Protocol):
    """Image refs named before their bytes are written and unnamed when their rows commit."""

    async def intend(self, refs: Sequence[str]) -> bool:
        """Claim refs about to be written, tagged with this store's replica: atomically all of them, or none (False)
        when one is already named here or recorded as an image (another writer chose the same name)."""
        ...

    async def clear(self, refs: Sequence[str]) -> None: ...

    async def orphans(self, *, replica: str | None = None) -> list[str]:
        """Refs still named by ``replica`` (any replica when None) that have no image row: a crash came between
        their write and their commit."""
        ...


class LedgerRepo(Protocol):
    """The cost ledger. Sums count calls and reservations alike; a call of unknown cost counts as 0."""

    async def reserve(self, entry: LedgerEntry, limits: Sequence[BudgetLimit]) -> BudgetExceededInfo | None:
        """Atomically: if ``entry``'s cost fits under every limit, insert it (a reservation) and return None;
        else insert nothing and return the first limit it would cross, with what was spent."""
        ...

    async def settle(self, reservation_id: str | None, calls: Sequence[LedgerEntry]) -> None:
        """Atomically: drop the reservation, book the calls."""
        ...

    async def spent(self, *, owner: str | None, since: float) -> float:
        """Calls and reservations from the start of the UTC day holding ``since``."""
        ...

    async def report(self, *, owner: str | None, since: float, until: float, group_by: str) -> list[dict[str, Any]]:
        """Calls in [since, until) grouped by day, month, session, model, principal or tool: key, calls, usd,
        unpriced_calls."""
        ...

    async def calls(self, *, owner: str | None, since: float, until: float) -> list[LedgerEntry]: ...

    async def drop_reservations(self, *, older_than: float | None = None) -> int:
        """Reservations made before ``older_than`` (all when None), left by a process that stopped mid-call."""
        ...


class StateStore(Protocol):
    @property
    def replica(self) -> str:
        """The id of the process this store writes for."""
        ...

    @property
    def sessions(self) -> SessionRepo: ...
    @property
    def images(self) -> ImageRepo: ...
    @property
    def jobs(self) -> JobRepo: ...
    @property
    def uploads(self) -> UploadRepo: ...
    @property
    def journal(self) -> JournalRepo: ...
    @property
    def ledger(self) -> LedgerRepo: ...

    async def open(self) -> None:
        """Connect and bring the schema up to date (raises :class:`~openai_image_mcp.core.errors.StorageError`)."""
        ...

    async def close(self) -> None: ...


class BlobStore(Protocol):
    def ref(self, key: str) -> str:
        """The ref of a relative layout key (``/``-separated)."""
        ...

    def join(self, ref: str, *parts: str) -> str:
        """The ref of ``parts`` below ``ref``."""
        ...

    def sidecar(self, ref: str) -> str:
        """The ref of an image's metadata sidecar (``image_001.png`` -> ``image_001_metadata.json``)."""
        ...

    def local_path(self, ref: str) -> Path | None:
        """The file behind a ref, where blobs are local files; ``None`` otherwise."""
        ...

    async def open(self) -> None:
        """Create what the layout needs (raises :class:`~openai_image_mcp.core.errors.StorageError`)."""
        ...

    async def put(self, ref: str, data: bytes) -> None:
        """Write atomically: a reader never sees part of it."""
        ...

    async def put_image(self, ref: str, data: bytes, metadata: dict[str, Any]) -> None:
        """The image and its metadata sidecar."""
        ...

    async def get(self, ref: str) -> bytes:
        """Raises :class:`~openai_image_mcp.core.errors.BlobNotFound` when there is nothing at ``ref``."""
        ...

    async def exists(self, ref: str) -> bool:
        """Whether anything is stored at ``ref`` or below it."""
        ...

    async def signed_url(self, ref: str, *, expires_in: float) -> str | None:
        """A time-limited URL that fetches the blob directly from the store; None where the store has none (files:
        the server's own signed link serves them instead)."""
        ...

    async def delete_images(self, refs: Sequence[str]) -> None:
        """Images and their sidecars; missing ones are not an error."""
        ...

    async def put_preview(self, job_id: str, name: str, data: bytes) -> None: ...

    async def get_preview(self, job_id: str, name: str) -> bytes:
        """Raises :class:`~openai_image_mcp.core.errors.BlobNotFound`."""
        ...

    async def sweep(self, *, older_than: float, preview_age: float = 86_400) -> int:
        """Remove what a crash left (temporaries older than ``older_than``) and old previews; returns the count."""
        ...


__all__ = [
    "BlobStore",
    "Coordinator",
    "ImageRepo",
    "JobRepo",
    "JournalRepo",
    "Lease",
    "LedgerRepo",
    "SessionRepo",
    "StateStore",
    "UploadRepo",
]
