"""Every KPI of the catalog has a hand-computed case.

Catalog KPIs over the ``contacts``/``agent_states``/... tables are checked in the declarative
cases of ``tests/cases/*.yaml`` (run on DuckDB and Spark); the forecast family is checked by
hand-worked numbers in ``tests/wfm/test_wfm_warehouse.py``. A KPI added to the catalog without
a case fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from contactkpi.metrics import default_catalog

TESTS = Path(__file__).resolve().parent
CASE_FILES = sorted((TESTS / "cases").glob("*.yaml")) + [TESTS / "wfm" / "test_wfm_warehouse.py"]


def test_every_kpi_has_a_hand_computed_case() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in CASE_FILES)
    names = sorted(default_catalog().metrics)
    missing = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", text)]
    assert len(names) >= 70
    assert not missing, f"KPIs without a hand-computed case: {missing}"
