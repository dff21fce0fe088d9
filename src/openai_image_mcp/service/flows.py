"""The heavier flows of :class:`~openai_image_mcp.service.facade.ImageService`, built (and their modules
imported) on first use, so the server starts without them: generation, editing, browsing, the budget
and the usage reports."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import anyio

from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service.attachments import Attacher
from openai_image_mcp.service.image_models import ModelCatalog
from openai_image_mcp.service.inputs import InputResolver
from openai_image_mcp.service.limits import RequestPacer
from openai_image_mcp.service.pricing import PriceTable
from openai_image_mcp.service.runtime import ProviderHandle
from openai_image_mcp.service.sessions import SessionBook
from openai_image_mcp.service.stats import ServerStats
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore

if TYPE_CHECKING:
    from openai_image_mcp.service.browse import Browser
    from openai_image_mcp.service.budget import Budget
    from openai_image_mcp.service.editing import Editor
    from openai_image_mcp.service.generation import Generator
    from openai_image_mcp.service.usage import UsageBook


class LazyFlows:
    """What the flows are built from (set by the facade's constructor), and the flows."""

    settings: Settings
    state: StateStore
    blobs: BlobStore
    clock: Clock
    stats: ServerStats
    provider: ProviderHandle
    sessions: SessionBook
    attacher: Attacher
    catalog: ModelCatalog
    prices: PriceTable
    _cpu: anyio.CapacityLimiter
    _resolver: InputResolver
    coordinator: Coordinator
    pacer: RequestPacer

    @cached_property
    def budget(self) -> Budget:
        from openai_image_mcp.service.budget import Budget

        return Budget(
            settings=self.settings, table=self.prices, ledger=self.state.ledger, stats=self.stats, clock=self.clock
        )

    @cached_property
    def generator(self) -> Generator:
        from openai_image_mcp.service.filing import Filer
        from openai_image_mcp.service.generation import Generator

        s, state, blobs, clock = self.settings, self.state, self.blobs, self.clock
        filer = Filer(settings=s, state=state, blobs=blobs, stats=self.stats, cpu=self._cpu, clock=clock)
        return Generator(
            settings=s, state=state, blobs=blobs, sessions=self.sessions, attacher=self.attacher, filer=filer,
            provider=self.provider, budget=self.budget, catalog=self.catalog, coordinator=self.coordinator,
            pacer=self.pacer, stats=self.stats, clock=clock,
        )  # fmt: skip

    @cached_property
    def editor(self) -> Editor:
        from openai_image_mcp.service.editing import Editor

        return Editor(
            settings=self.settings, generator=self.generator, attacher=self.attacher, sessions=self.sessions,
            state=self.state, blobs=self.blobs, clock=self.clock,
        )  # fmt: skip

    @cached_property
    def usage(self) -> UsageBook:
        from openai_image_mcp.service.usage import UsageBook

        return UsageBook(
            settings=self.settings, budget=self.budget, ledger=self.state.ledger, sessions=self.sessions,
            clock=self.clock,
        )  # fmt: skip

    @cached_property
    def browser(self) -> Browser:
        from openai_image_mcp.service.browse import Browser

        return Browser(state=self.state, blobs=self.blobs, resolver=self._resolver, cpu=self._cpu, clock=self.clock)
