"""The state store's contract: what every implementation of :class:`StateStore` must do."""

from __future__ import annotations

import anyio
import pytest

from openai_image_mcp.core.errors import LeaseLost
from openai_image_mcp.store.ports import StateStore
from tests.store.conftest import image, session

NOW = 1_800_000_000.0


# -- sessions ---------------------------------------------------------------------------------------


async def test_session_limit_returns_the_idle_sessions(state: StateStore) -> None:
    s = state.sessions
    assert await s.create(session("a", NOW - 5), max_active=2, now=NOW, idle_timeout=100) == []
    assert await s.create(session("b", NOW), max_active=2, now=NOW, idle_timeout=100) == []
    blocked = await s.create(session("c", NOW), max_active=2, now=NOW, idle_timeout=100)
    assert [x.id for x in blocked] == ["a", "b"]
    assert await s.get("c", owner=None, now=NOW, idle_timeout=100) is None


async def test_the_session_limit_counts_each_owners_sessions(state: StateStore) -> None:
    s = state.sessions
    assert await s.create(session("a", NOW, owner="ann"), max_active=1, now=NOW, idle_timeout=100) == []
    assert await s.create(session("b", NOW, owner="bob"), max_active=1, now=NOW, idle_timeout=100) == []
    blocked = await s.create(session("c", NOW, owner="ann"), max_active=1, now=NOW, idle_timeout=100)
    assert [x.id for x in blocked] == ["a"]


async def test_idle_sessions_expire_exactly_after_the_timeout(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("a", 1000.0), max_active=5, now=1000.0, idle_timeout=10)
    still = await s.get("a", owner="local", now=1009.9, idle_timeout=10)
    assert still is not None and still.status == "active"
    gone = await s.get("a", owner="local", now=1010.0, idle_timeout=10)
    assert gone is not None and gone.status == "expired" and gone.closed_at == 1010.0


async def test_a_session_of_another_owner_is_not_found(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("a", NOW, owner="ann"), max_active=5, now=NOW, idle_timeout=100)
    assert await s.get("a", owner="bob", now=NOW, idle_timeout=100) is None
    found = await s.get("a", owner="ann", now=NOW, idle_timeout=100)
    assert found is not None and found.owner == "ann"
    assert await s.get("a", owner=None, now=NOW, idle_timeout=100) == found  # an admin sees every owner


async def test_listing_and_counting_are_scoped_by_owner(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("a", NOW - 2, owner="ann", folder="/a"), max_active=5, now=NOW, idle_timeout=100)
    await s.create(session("b", NOW - 1, owner="bob", folder="/b"), max_active=5, now=NOW, idle_timeout=100)
    await s.create(session("c", NOW, owner="ann", folder="/c"), max_active=5, now=NOW, idle_timeout=100)
    await s.close("c", now=NOW)
    assert [x.id for x in await s.list_sessions(owner="ann", now=NOW, idle_timeout=100)] == ["a"]
    assert [x.id for x in await s.list_sessions(owner="ann", now=NOW, idle_timeout=100, status=None)] == ["c", "a"]
    assert [x.id for x in await s.list_sessions(owner=None, now=NOW, idle_timeout=100)] == ["b", "a"]
    assert await s.counts(owner="ann") == {"active": 1, "closed": 1}
    assert await s.counts(owner=None) == {"active": 2, "closed": 1}
    assert await s.folders() == {"/a", "/b", "/c"}


async def test_closing_is_once(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("a", NOW), max_active=5, now=NOW, idle_timeout=100)
    assert await s.close("a", now=NOW) is True
    assert await s.close("a", now=NOW) is False


async def test_expire_idle_names_the_expired(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("a", NOW - 200, folder="/a"), max_active=5, now=NOW, idle_timeout=1000)
    await s.create(session("b", NOW, folder="/b"), max_active=5, now=NOW, idle_timeout=1000)
    assert await s.expire_idle(now=NOW, idle_timeout=100) == ["a"]


# -- turns ------------------------------------------------------------------------------------------


async def test_turns_are_numbered_in_order(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    t1 = await s.begin_turn("s", "one", {}, None, now=NOW)
    t2 = await s.begin_turn("s", "two", {"size": "auto"}, "resp_0", now=NOW)
    assert (t1.seq, t2.seq) == (1, 2)
    assert t2.params == {"size": "auto"} and t2.previous_response_id == "resp_0" and t2.status == "pending"


async def test_completed_turn_commits_images_and_advances_the_chain(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    turn = await s.begin_turn("s", "a fox", {"size": "auto"}, None, now=NOW)
    rec = image("img1", NOW, session_id="s", turn_id=turn.id, path="/x/image_001.png")
    await state.journal.intend([rec.path])
    await s.complete_turn(turn, response_id="resp_1", model_text="ok", usage={"a": 1}, images=[rec], now=NOW)
    got = await s.get("s", owner="local", now=NOW, idle_timeout=100)
    assert got is not None
    assert got.last_response_id == "resp_1" and got.turn_count == 1 and got.image_count == 1
    (t,) = await s.turns("s")
    assert t.status == "completed" and t.image_ids == ("img1",) and t.usage == {"a": 1} and t.model_text == "ok"
    assert await state.images.get("img1", owner="local") == rec
    assert await state.journal.orphans() == []  # the commit took the file out of the journal


async def test_a_failed_turn_keeps_its_error(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    turn = await s.begin_turn("s", "p", {}, None, now=NOW)
    await s.end_turn(turn.id, "failed", error_type="content_rejected", error="blocked", now=NOW)
    (t,) = await s.turns("s")
    assert (t.status, t.error_type, t.error) == ("failed", "content_rejected", "blocked")


async def test_pending_turns_become_interrupted(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    await s.begin_turn("s", "p", {}, None, now=NOW)
    assert await s.mark_interrupted(now=NOW) == 1
    (t,) = await s.turns("s")
    assert t.status == "interrupted"


# -- images -----------------------------------------------------------------------------------------


async def test_images_are_found_only_by_their_owner(state: StateStore) -> None:
    await state.images.add([image("a1", NOW, owner="ann"), image("b1", NOW, owner="bob")])
    assert await state.images.get("a1", owner="bob") is None
    assert (await state.images.get("a1", owner="ann")) is not None
    assert await state.images.by_path("/x/a1.png", owner="bob") is None
    assert (await state.images.by_path("/x/a1.png", owner=None)) is not None
    assert await state.images.count(owner="ann") == 1
    assert await state.images.count(owner=None) == 2
    assert await state.images.total_bytes(owner="ann") == 3
    assert await state.images.total_bytes(owner=None) == 6


async def test_search_filters_pages_and_is_scoped(state: StateStore) -> None:
    recs = [
        image(f"i{n}", NOW + n, owner="ann" if n % 2 else "bob", prompt=f"fox {n}", use_case="general")
        for n in range(6)
    ]
    recs.append(image("p1", NOW + 10, owner="ann", prompt="a 100% blue_mug", use_case="product", revised_prompt=None))
    await state.images.add(recs)
    page, total = await state.images.search(owner="ann", limit=2)
    assert total == 4 and [r.id for r in page] == ["p1", "i5"]
    page, total = await state.images.search(owner="ann", limit=2, offset=2)
    assert [r.id for r in page] == ["i3", "i1"]
    assert (await state.images.search(owner="ann", use_case="product"))[1] == 1
    assert (await state.images.search(owner=None, text="fox"))[1] == 6
    assert [r.id for r in (await state.images.search(owner="ann", text="100%"))[0]] == ["p1"]
    assert (await state.images.search(owner="ann", text="_"))[1] == 1  # LIKE wildcards are literal
    assert (await state.images.search(owner=None, since=NOW + 3, until=NOW + 5))[1] == 2


async def test_search_text_is_like_sqlites_like(state: StateStore) -> None:
    """Case-insensitive for ASCII letters only; prompt or revised prompt; combined with the other filters."""
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    await state.images.add(
        [
            image("a", NOW, prompt="Crème BRÛLÉE", revised_prompt=None, session_id="s"),
            image("b", NOW + 1, prompt="x", revised_prompt="A red FOX", session_id="s", use_case="product"),
            image("c", NOW + 2, prompt="a fox", owner="bob"),
            image("d", NOW + 2, prompt="a fox", path="/x/0.png"),
        ]
    )

    async def ids(**kw: object) -> list[str]:
        page, total = await state.images.search(**kw)  # type: ignore[arg-type]
        assert total == len(page)
        return [r.id for r in page]

    assert await ids(owner=None, text="crème") == ["a"]
    assert await ids(owner=None, text="brûlée") == []  # non-ASCII letters keep their case, as in SQLite
    assert await ids(owner=None, text="Fox") == ["c", "d", "b"]  # equal times: the greater path first
    assert await ids(owner="local", text="fox") == ["d", "b"]
    assert await ids(owner="local", session_id="s", text="FOX") == ["b"]
    assert await ids(owner="local", session_id="s", use_case="product") == ["b"]
    assert await ids(owner="bob", session_id="s") == []
    assert await ids(owner=None, session_id="s", until=NOW + 1) == ["a"]
    page, total = await state.images.search(owner=None, text="fox", limit=1, offset=1)
    assert ([r.id for r in page], total) == (["d"], 3)


async def test_images_of_a_session_oldest_first(state: StateStore) -> None:
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    await state.images.add([image("b", NOW + 1, session_id="s"), image("a", NOW, session_id="s"), image("c", NOW)])
    assert [r.id for r in await state.images.for_session("s")] == ["a", "b"]


# -- jobs -------------------------------------------------------------------------------------------


async def test_jobs_run_finish_and_are_scoped(state: StateStore) -> None:
    await state.jobs.create("j1", "generate_image", None, owner="ann", now=NOW)
    running = await state.jobs.get("j1", owner="ann")
    assert running is not None and running.status == "running" and running.owner == "ann"
    assert await state.jobs.get("j1", owner="bob") is None
    await state.jobs.finish("j1", "succeeded", now=NOW + 1, message="done", result={"image_ids": ["x"]})
    done = await state.jobs.get("j1", owner=None)
    assert done is not None and done.status == "succeeded" and done.result == {"image_ids": ["x"]}
    assert done.finished_at == NOW + 1


async def test_running_jobs_become_interrupted(state: StateStore) -> None:
    await state.jobs.create("j1", "k", "s", owner="local", now=NOW)
    await state.jobs.create("j2", "k", None, owner="local", now=NOW)
    await state.jobs.finish("j2", "failed", now=NOW, error_type="timeout", error="slow")
    assert await state.jobs.mark_interrupted(now=NOW) == ["j1"]
    j1 = await state.jobs.get("j1", owner=None)
    assert j1 is not None and j1.status == "interrupted" and j1.error_type == "interrupted"


# -- uploads and the journal ------------------------------------------------------------------------


async def test_stale_uploads(state: StateStore) -> None:
    for sid in ("open", "closed"):
        await state.sessions.create(session(sid, NOW, folder=f"/{sid}"), max_active=10, now=NOW, idle_timeout=3600)
    await state.sessions.close("closed", now=NOW)
    up = state.uploads
    await up.add("file-open", "open", "a", 1, owner="local", now=NOW)
    await up.add("file-closed", "closed", "b", 1, owner="local", now=NOW)
    await up.add("file-one-off-old", None, "c", 1, owner="local", now=NOW - 1000)
    await up.add("file-one-off-in-use", None, "d", 1, owner="local", now=NOW)
    await up.add("file-gone", "closed", "e", 1, owner="local", now=NOW)
    await up.mark_deleted("file-gone", now=NOW)
    assert sorted(await up.stale(one_off_before=NOW - 300)) == ["file-closed", "file-one-off-old"]
    assert await up.find("open", "a") == "file-open"
    assert await up.find("closed", "e") is None  # deleted uploads are not reused
    assert await up.find("open", "zzz") is None


async def test_journal_names_orphans_until_cleared(state: StateStore) -> None:
    await state.journal.intend(["/x/kept.png", "/x/orphan.png"])
    await state.images.add([image("kept", NOW, path="/x/kept.png")])
    assert await state.journal.orphans() == ["/x/orphan.png"]
    await state.journal.clear(["/x/orphan.png"])
    assert await state.journal.orphans() == []


async def test_state_survives_reopening(state: StateStore) -> None:
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    await state.close()
    await state.open()
    assert (await state.sessions.get("s", owner="local", now=NOW, idle_timeout=100)) is not None


# -- replicas: fencing, interrupting a replica's work, concurrency ----------------------------------------


async def test_the_store_names_its_replica(state: StateStore, peer: StateStore) -> None:
    assert (state.replica, peer.replica) == ("r1", "r2")


async def test_a_lower_fence_begins_nothing(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    await s.begin_turn("s", "one", {}, None, now=NOW, fence=5)
    with pytest.raises(LeaseLost):
        await s.begin_turn("s", "stale holder", {}, None, now=NOW, fence=4)
    await s.begin_turn("s", "same holder", {}, None, now=NOW, fence=5)
    await s.begin_turn("s", "no lock", {}, None, now=NOW)
    assert [t.prompt for t in await s.turns("s")] == ["one", "same holder", "no lock"]


async def test_completing_with_an_older_fence_writes_nothing(state: StateStore, peer: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    old = await s.begin_turn("s", "old holder", {}, None, now=NOW, fence=1)
    await peer.sessions.begin_turn("s", "new holder", {}, None, now=NOW + 1, fence=2)
    rec = image("img1", NOW, session_id="s", turn_id=old.id, path="/x/late.png")
    await state.journal.intend([rec.path])
    with pytest.raises(LeaseLost):
        await s.complete_turn(old, response_id="resp_old", model_text="", usage={}, images=[rec], now=NOW, fence=1)
    got = await s.get("s", owner=None, now=NOW + 1, idle_timeout=100)
    assert got is not None and got.last_response_id is None and got.turn_count == 0 and got.image_count == 0
    assert await state.images.get("img1", owner=None) is None
    assert await state.journal.orphans() == ["/x/late.png"]  # still named: its file is an orphan to clean up
    assert [t.status for t in await s.turns("s")] == ["pending", "pending"]


async def test_completing_an_interrupted_turn_writes_nothing(state: StateStore, peer: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    turn = await s.begin_turn("s", "p", {}, None, now=NOW, fence=1)
    assert await peer.sessions.mark_interrupted(now=NOW + 1, replica="r1") == 1  # a survivor thinks r1 died
    rec = image("img1", NOW, session_id="s", turn_id=turn.id)
    with pytest.raises(LeaseLost):
        await s.complete_turn(turn, response_id="resp_1", model_text="", usage={}, images=[rec], now=NOW, fence=1)
    got = await s.get("s", owner=None, now=NOW + 1, idle_timeout=100)
    assert got is not None and got.last_response_id is None and got.turn_count == 0
    assert await state.images.get("img1", owner=None) is None
    (t,) = await s.turns("s")
    assert (t.status, t.error_type, t.image_ids) == ("interrupted", "interrupted", ())


async def test_end_turn_keeps_a_turn_already_ended(state: StateStore) -> None:
    s = state.sessions
    await s.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    done = await s.begin_turn("s", "done", {}, None, now=NOW)
    await s.complete_turn(done, response_id="resp_1", model_text="ok", usage={}, images=[], now=NOW)
    await s.end_turn(done.id, "failed", error_type="timeout", error="late", now=NOW + 1)
    stopped = await s.begin_turn("s", "stopped", {}, None, now=NOW)
    await s.mark_interrupted(now=NOW)
    await s.end_turn(stopped.id, "cancelled", error_type="cancelled", error="bye", now=NOW + 1)
    t1, t2 = await s.turns("s")
    assert (t1.status, t1.error_type, t1.response_id) == ("completed", None, "resp_1")
    assert (t2.status, t2.error_type, t2.finished_at) == ("interrupted", "interrupted", NOW)


async def test_interrupting_a_replicas_turns_leaves_the_others(state: StateStore, peer: StateStore) -> None:
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    mine = await state.sessions.begin_turn("s", "r1's", {}, None, now=NOW)
    await peer.sessions.begin_turn("s", "r2's", {}, None, now=NOW)
    assert await state.sessions.mark_interrupted(now=NOW, replica="r2") == 1
    assert await state.sessions.mark_interrupted(now=NOW, replica="r2") == 0
    assert {t.prompt: t.status for t in await state.sessions.turns("s")} == {"r1's": "pending", "r2's": "interrupted"}
    await state.sessions.complete_turn(mine, response_id="r", model_text="", usage={}, images=[], now=NOW)
    assert await state.sessions.mark_interrupted(now=NOW) == 0  # nothing pending anywhere


async def test_interrupting_a_replicas_jobs_names_them(state: StateStore, peer: StateStore) -> None:
    await state.jobs.create("j1", "k", None, owner="local", now=NOW)
    await peer.jobs.create("j2", "k", None, owner="local", now=NOW)
    await peer.jobs.create("j3", "k", None, owner="local", now=NOW)
    assert sorted(await state.jobs.mark_interrupted(now=NOW, replica="r2")) == ["j2", "j3"]
    j1 = await state.jobs.get("j1", owner=None)
    assert j1 is not None and j1.status == "running"
    assert await state.jobs.mark_interrupted(now=NOW, replica="r2") == []
    assert await peer.jobs.mark_interrupted(now=NOW) == ["j1"]


async def test_orphans_are_found_by_replica(state: StateStore, peer: StateStore) -> None:
    await state.journal.intend(["/x/a.png", "/x/committed.png"])
    await peer.journal.intend(["/x/b.png"])
    await state.images.add([image("c", NOW, path="/x/committed.png")])
    assert await state.journal.orphans(replica="r1") == ["/x/a.png"]
    assert await state.journal.orphans(replica="r2") == ["/x/b.png"]
    assert await state.journal.orphans(replica="r3") == []
    assert sorted(await state.journal.orphans()) == ["/x/a.png", "/x/b.png"]


async def test_concurrent_turns_get_distinct_numbers(state: StateStore, peer: StateStore) -> None:
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    seqs: list[int] = []

    async def begin(store: StateStore, i: int) -> None:
        seqs.append((await store.sessions.begin_turn("s", f"p{i}", {}, None, now=NOW)).seq)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(begin, state if i % 2 else peer, i)
    assert sorted(seqs) == list(range(1, 21))
    assert [t.seq for t in await state.sessions.turns("s")] == list(range(1, 21))


async def test_concurrent_creates_respect_the_session_limit(state: StateStore, peer: StateStore) -> None:
    created: list[str] = []

    async def create(store: StateStore, i: int) -> None:
        if (
            await store.sessions.create(session(f"s{i}", NOW, folder=f"/{i}"), max_active=5, now=NOW, idle_timeout=100)
            == []
        ):
            created.append(f"s{i}")

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(create, state if i % 2 else peer, i)
    assert len(created) == 5
    active = await state.sessions.list_sessions(owner="local", now=NOW, idle_timeout=100)
    assert sorted(x.id for x in active) == sorted(created)
    assert await state.sessions.counts(owner=None) == {"active": 5}


async def test_a_job_ends_once(state: StateStore) -> None:
    """A stalled replica finishing a job a survivor already marked interrupted changes nothing (and says so)."""
    await state.jobs.create("j1", "generate_image", None, owner="local", now=1.0)
    assert await state.jobs.mark_interrupted(now=2.0) == ["j1"]
    assert not await state.jobs.finish("j1", "succeeded", now=3.0, result={"image_ids": ["x"]})
    rec = await state.jobs.get("j1", owner=None)
    assert rec is not None and rec.status == "interrupted" and rec.result is None
    await state.jobs.create("j2", "generate_image", None, owner="local", now=1.0)
    assert await state.jobs.finish("j2", "failed", now=3.0, error_type="openai_error", error="boom")
    assert not await state.jobs.finish("j2", "succeeded", now=4.0)
    rec = await state.jobs.get("j2", owner=None)
    assert rec is not None and rec.status == "failed"
