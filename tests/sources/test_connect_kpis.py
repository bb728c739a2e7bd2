"""Simulated calls -> Amazon Connect CTR file -> ingest: the KPIs equal the simulated ones.

The simulator's voice contacts are first reduced to what a contact record carries (whole
seconds; no ring time, queue positions or attempt numbers; ``blocked`` calls, which never
produce a queued CTR, left out). Those canonical rows are loaded directly into one warehouse
and, written as CTRs and read back by the source, into another; every inbound and outbound KPI
by queue and hour must come out the same.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from contactkpi.config import Tenant
from contactkpi.metrics import MetricQuery, query
from contactkpi.simulate import simulate
from contactkpi.simulate.raw.connect import write_ctr
from contactkpi.sources.amazon_connect_ctr import AmazonConnectCtrSource
from contactkpi.sources.base import ReadContext, SourceFile
from contactkpi.store import Warehouse, load, load_frames

ATTRS = {"reason": "Reason", "segment": "Segment", "disposition": "Disposition",
         "script": "Script"}
CARRIED = ["tenant", "contact_id", "channel", "direction", "queue", "customer_id", "agent_id",
           "parent_contact_id", "arrived_at", "answered_at", "ended_at", "wait_s", "talk_s",
           "hold_s", "acw_s", "holds", "transfers", "outcome", "reason", "segment",
           "disposition", "script", "campaign"]
KPIS = ["offered", "answered", "answer_rate", "abandoned", "short_abandons", "abandon_rate",
        "service_level", "asa_s", "awt_s", "avg_time_to_abandon_s", "longest_wait_s",
        "wait_p90_s", "aht_s", "talk_time_s", "hold_time_s", "acw_time_s", "transfer_rate",
        "hold_rate", "attempts", "contact_rate", "conversion_rate"]


def _as_a_ctr_carries_it(contacts: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    voice = contacts[(contacts["channel"] == "voice") & (contacts["outcome"] != "blocked")]
    tenant = voice["tenant"].value_counts().index[0]
    rows = voice[voice["tenant"] == tenant].copy()
    for c in ("arrived_at", "answered_at", "ended_at"):
        rows[c] = rows[c].dt.floor("s")
    for c in ("wait_s", "talk_s", "hold_s", "acw_s"):
        rows[c] = rows[c].round()
    return tenant, rows[CARRIED].reset_index(drop=True)


def test_simulated_calls_give_the_same_kpis_after_a_ctr_round_trip(tmp_path: Path) -> None:
    tenant, rows = _as_a_ctr_carries_it(simulate(seed=3, days=1).tables["contacts"])
    assert len(rows) > 1000 and set(rows["direction"]) == {"inbound", "outbound"}
    path = write_ctr(rows, tmp_path / "ctr.json", attributes=ATTRS)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("[connect.attributes]\n" + "".join(
        f'{k} = "{v}"\n' for k, v in ATTRS.items()))

    direct, ingested = Warehouse.memory(), Warehouse.memory()
    load_frames(direct, {"contacts": rows}, tenant=tenant)
    ctx = ReadContext(tenant=Tenant(tenant), mapping=mapping)
    r = load(ingested, SourceFile.of(path, "connect"), AmazonConnectCtrSource().read(path, ctx),
             tenant)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (len(rows), len(rows), 0)

    q = MetricQuery(KPIS, by=["queue"], grain="hour")
    expected = query(direct, q)
    assert expected["offered"].sum() == (rows["direction"] == "inbound").sum()
    pd.testing.assert_frame_equal(query(ingested, q), expected)
