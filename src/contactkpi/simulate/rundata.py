"""What one simulation run produced, before it becomes canonical tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from contactkpi.simulate.arrivals import QueueLoad
from contactkpi.simulate.calendar import Clock, TenantCalendar
from contactkpi.simulate.config import CampaignSim, QueueSim, SimConfig
from contactkpi.simulate.engine import ContactBook, EngineLog
from contactkpi.simulate.outbound import OutboundResult
from contactkpi.simulate.workforce import Agent, Workforce


@dataclass(frozen=True)
class QueueInfo:
    """A queue on the global index the event loop uses."""

    index: int
    tenant: int  # index into config.tenants
    sim: QueueSim
    load: QueueLoad


@dataclass
class RunData:
    """Raw results of a run (clock microseconds, indices), shared by the table builders."""

    cfg: SimConfig
    clock: Clock
    calendars: list[TenantCalendar]
    codes: list[str]  # short tenant code used in ids
    queues: list[QueueInfo]
    reasons: list[str]
    book: ContactBook
    log: EngineLog
    engine_agents: list[Agent]  # index = agent index in the event loop
    workforces: list[Workforce]
    blocked: dict[str, np.ndarray]
    campaigns: list[tuple[int, CampaignSim, OutboundResult]]
    inbound_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    outbound_ids: list[np.ndarray] = field(default_factory=list)  # per entry of campaigns

    def rng(self, *keys: int) -> np.random.Generator:
        """An independent generator for one part of the run, fixed by the seed and keys."""
        return np.random.default_rng([self.cfg.seed, *keys])
