"""Simulated e-mail tickets -> Zendesk-style export -> ingest: the KPIs equal the simulated ones.

The simulator's written contacts and their surveys are first reduced to what a Zendesk export
carries: whole seconds; no answered_at/wait/talk (a ticket has no such fields); CSAT as
Zendesk's good/bad (answers 4-5 -> 5, 1-3 -> 1, the split Zendesk uses on a 1-5 scale); a
survey with no CSAT answer is "offered" (not responded). Those rows are loaded directly into
one warehouse and, exported with audits and ratings and read back by the source (``channel =
"via"`` keeps e-mail as e-mail), into another; the helpdesk and satisfaction KPIs by queue and
day must come out the same.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from contactkpi.config import Tenant
from contactkpi.metrics import MetricQuery, query
from contactkpi.simulate import simulate
from contactkpi.simulate.raw.tickets import write_tickets_json
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.sources.helpdesk_tickets import HelpdeskTicketsSource
from contactkpi.store import Warehouse, load, load_frames

CARRIED = ["tenant", "contact_id", "channel", "direction", "queue", "customer_id", "agent_id",
           "arrived_at", "first_response_at", "resolved_at", "ended_at", "status", "reopens",
           "transfers", "outcome"]
SURVEYS = ["tenant", "survey_id", "contact_id", "customer_id", "agent_id", "sent_at",
           "responded_at", "csat"]


def _as_an_export_carries_it(tables: dict[str, pd.DataFrame]
                             ) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    contacts = tables["contacts"]
    mail = contacts[contacts["channel"] == "email"]
    tenant = mail["tenant"].value_counts().index[0]
    rows = mail[mail["tenant"] == tenant].copy()
    for c in ("arrived_at", "first_response_at", "resolved_at", "ended_at"):
        rows[c] = rows[c].dt.floor("s")
    surveys = tables["surveys"]
    surveys = surveys[surveys["contact_id"].isin(rows["contact_id"])].copy()
    surveys["csat"] = surveys["csat"].map(
        lambda x: pd.NA if pd.isna(x) else (5 if x >= 4 else 1)).astype("Int64")
    for c in ("sent_at", "responded_at"):
        surveys[c] = surveys[c].dt.floor("s")
    surveys.loc[surveys["csat"].isna(), "responded_at"] = pd.NaT
    surveys["survey_id"] = surveys["contact_id"]  # Zendesk rates per ticket
    return tenant, rows[CARRIED].reset_index(drop=True), surveys[SURVEYS].reset_index(drop=True)


def test_simulated_tickets_give_the_same_kpis_after_an_export_round_trip(tmp_path: Path
                                                                          ) -> None:
    tenant, rows, surveys = _as_an_export_carries_it(simulate(seed=3, days=2).tables)
    assert len(rows) > 300 and surveys["csat"].notna().sum() > 20
    path = write_tickets_json(rows, tmp_path / "export.json", surveys, audits=True)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[tickets]\nchannel = "via"\n')

    direct, ingested = Warehouse.memory(), Warehouse.memory()
    load_frames(direct, {"contacts": rows, "surveys": surveys}, tenant=tenant)
    ctx = ReadContext(tenant=Tenant(tenant), mapping=mapping)
    r = load(ingested, SourceFile.of(path, "tickets"), HelpdeskTicketsSource().read(path, ctx),
             tenant)
    assert (r.rows_read, r.rows_rejected) == (len(rows) + len(surveys), 0)

    helpdesk = MetricQuery(["ticket_volume", "first_response_time_s",
                            "first_response_time_median_s", "resolution_time_s",
                            "resolution_time_median_s", "backlog", "reopen_rate",
                            "one_touch_rate"],
                           by=["queue"], grain="day", start="2026-01-05", end="2026-01-08")
    satisfaction = MetricQuery(["csat", "csat_top2_box", "survey_response_rate"], grain="day",
                               start="2026-01-05", end="2026-01-09")
    for q in (helpdesk, satisfaction):
        expected = query(direct, q)
        assert len(expected) >= 3
        pd.testing.assert_frame_equal(query(ingested, q), expected)
