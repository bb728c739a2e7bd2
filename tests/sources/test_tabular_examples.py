"""Every example mapping reads its example file with 0 rejects, values checked by hand; the
bank-marketing mapping reads the real UCI file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contactkpi.config import Tenant
from contactkpi.model import TABLES
from contactkpi.model.validate import conform
from contactkpi.sources.base import ReadContext
from contactkpi.sources.tabular import CsvSource

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "examples" / "mappings"
DATA = REPO / "examples" / "data"
BANK = REPO.parent / "shared" / "data" / "bank-marketing-outbound" / "bank-additional-full.csv"
PAIRS = sorted(p.stem for p in MAPPINGS.glob("*.toml") if p.stem != "bank-marketing")
TENANT = Tenant("demo", timezone="Europe/Paris")


def _load(stem: str, data: Path | None = None, chunk_rows: int = 200_000
          ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, int]:
    ctx = ReadContext(tenant=TENANT, mapping=MAPPINGS / f"{stem}.toml", chunk_rows=chunk_rows)
    rows: dict[str, list[pd.DataFrame]] = {}
    rejects = []
    lines = 0
    for batch in CsvSource().read(data or DATA / f"{stem}.csv", ctx):
        lines += batch.lines
        rejects.append(batch.rejects)
        for name, frame in batch.tables.items():
            c = conform(TABLES[name], frame)
            rows.setdefault(name, []).append(c.rows)
            rejects.append(c.rejects)
    return ({n: pd.concat(f, ignore_index=True) for n, f in rows.items()},
            pd.concat(rejects, ignore_index=True), lines)


@pytest.mark.parametrize("stem", PAIRS)
def test_example_reads_with_no_rejects(stem: str) -> None:
    rows, rejects, lines = _load(stem)
    data_lines = len((DATA / f"{stem}.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert rejects.empty, rejects.to_string()
    assert lines == data_lines
    main = rows[stem]
    assert len(main) == data_lines
    assert main["_line"].tolist() == list(range(2, data_lines + 2))
    assert (main["tenant"] == "demo").all()


def test_contacts_example_values() -> None:
    rows, _, _ = _load("contacts")
    c = rows["contacts"].set_index("contact_id")
    first = c.loc["04/03/2024-1001"]
    # 08:01:12 in London on 4 March is GMT (UTC+0); on 31 March, after the change, BST (+1).
    assert first["arrived_at"] == pd.Timestamp("2024-03-04 08:01:12Z")
    assert c.loc["31/03/2024-1001", "arrived_at"] == pd.Timestamp("2024-03-31 08:00:05Z")
    assert (first["wait_s"], first["talk_s"], first["acw_s"]) == (12.0, 271.0, 45.0)
    assert c.loc["04/03/2024-1008", "talk_s"] == 3725.0  # 1:02:05
    assert c["outcome"].value_counts().to_dict() == {"answered": 9, "abandoned": 3}
    assert set(c["channel"]) == {"voice"} and set(c["direction"]) == {"inbound"}
    s = rows["surveys"]
    assert s["survey_id"].tolist() == ["04/03/2024-1001", "04/03/2024-1003", "04/03/2024-1005",
                                       "04/03/2024-1007", "04/03/2024-1008", "31/03/2024-1001",
                                       "31/03/2024-1004"]
    assert s["csat"].tolist() == [5, 4, 2, 5, 3, 4, 5]


def test_planning_and_workforce_example_values() -> None:
    roster, _, _ = _load("roster")
    r = roster["roster"].set_index("agent_id")
    assert r.loc["A021", "fte"] == 0.6 and r.loc["A021", "hourly_cost"] == 22.1
    assert str(r.loc["A044", "left_on"]) == "2024-02-29"
    assert r.loc["A044", "employment"] == "outsourced"
    costs, _, _ = _load("costs")
    assert costs["costs"]["amount"].sum() == pytest.approx(108571.25)
    assert costs["costs"]["cost_type"].tolist() == ["labour", "labour", "telephony", "licences",
                                                    "facilities"]
    forecasts, _, _ = _load("forecasts")
    f = forecasts["forecasts"]
    assert set(f["interval_s"]) == {1800.0}
    # Tenant time zone (Paris, UTC+1 in March) applies: the mapping names none.
    assert f["interval_start_at"][0] == pd.Timestamp("2024-03-11 07:00Z")
    schedules, _, _ = _load("schedules")
    s = schedules["schedules"]
    assert s["activity"].tolist() == ["work", "break", "lunch", "work", "coaching", "training",
                                      "off"]
    assert (s["ends_at"] - s["starts_at"]).dt.total_seconds().tolist()[:3] == [
        14400.0, 900.0, 1800.0]
    surveys, _, _ = _load("surveys")
    assert surveys["surveys"]["fcr"].tolist()[:5] == [True, pd.NA, False, True, pd.NA]
    absences, _, _ = _load("absences")
    assert absences["absences"]["kind"].tolist() == ["sick", "vacation", "unexcused", "sick",
                                                     "other"]


@pytest.mark.skipif(not BANK.exists(), reason="shared data not present")
def test_bank_marketing_reads_every_row_of_the_real_file() -> None:
    rows, rejects, lines = _load("bank-marketing", BANK, chunk_rows=15_000)
    c = rows["contacts"]
    assert rejects.empty, rejects.head().to_string()
    assert lines == 41_188 and len(c) == 41_188
    assert c["contact_id"].iloc[0] == "2" and c["contact_id"].iloc[-1] == "41189"
    assert c["contact_id"].is_unique
    # Figures of the data set's README: 4,640 yes of 41,188; conversion by line type.
    assert (c["disposition"] == "sale").sum() == 4_640
    by_line = c.groupby("script")["disposition"].apply(lambda d: (d == "sale").mean())
    assert round(by_line["cellular"], 4) == 0.1474 and round(by_line["telephone"], 4) == 0.0523
    assert c["segment"].value_counts().to_dict() == {"nonexistent": 35_563, "failure": 4_252,
                                                     "success": 1_373}
    assert c["outcome"].value_counts().to_dict() == {"answered": 41_184, "no_answer": 4}
    assert (c.loc[c["outcome"] == "no_answer", "talk_s"] == 0).all()
    first = c.iloc[0]
    assert (first["talk_s"], first["attempt"], first["script"]) == (261.0, 1, "telephone")
    assert set(c["direction"]) == {"outbound"} and set(c["channel"]) == {"voice"}
    assert c["arrived_at"].isna().all()  # the file has no timestamps; none are invented
