"""A contact-center simulator that writes the canonical tables (demo, tests, benchmarks).

Two generators:

- :func:`simulate` runs a discrete-event simulation of a multi-queue, multi-tenant center
  (FCFS queues, skilled agents with shifts and breaks, impatient customers, repeat callers,
  tickets, an outbound campaign, surveys, QA, HR and costs) and returns every canonical table
  as a pandas frame. The same seed gives exactly the same data.
- :func:`fast_contact_batches` / :func:`write_fast_contacts` draw large ``contacts`` tables
  (tens of millions of rows) with realistic distributions but no queue dynamics, chunk by
  chunk (:func:`fast_contacts` returns a small one as a pandas frame).

Example::

    from contactkpi.simulate import simulate, write_tables
    sim = simulate(seed=7, days=7)
    sim.tables["contacts"].groupby("queue").size()
    write_tables(sim.tables, "out/", fmt="parquet")
"""

from __future__ import annotations

from contactkpi.simulate.center import TABLE_NAMES, Simulation, simulate
from contactkpi.simulate.config import (
    CampaignSim,
    Dist,
    QueueSim,
    SimConfig,
    StaffingSim,
    TeamSim,
    TenantSim,
    default_config,
    load_config,
)
from contactkpi.simulate.fast import fast_contact_batches, fast_contacts, write_fast_contacts
from contactkpi.simulate.write import write_tables

__all__ = [
    "TABLE_NAMES",
    "CampaignSim",
    "Dist",
    "QueueSim",
    "SimConfig",
    "Simulation",
    "StaffingSim",
    "TeamSim",
    "TenantSim",
    "default_config",
    "fast_contact_batches",
    "fast_contacts",
    "load_config",
    "simulate",
    "write_fast_contacts",
    "write_tables",
]
