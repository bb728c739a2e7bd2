"""The catalog: it loads, every KPI is documented, and bad definitions are named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactkpi.errors import DefinitionError
from contactkpi.metrics.loader import CATALOG_DIR, load_catalog
from contactkpi.metrics.spec import MetricType

ISSUE_3 = {
    "inbound": ["offered", "answered", "answer_rate", "abandoned", "abandon_rate",
                "short_abandons", "service_level", "asa_s", "awt_s", "avg_time_to_abandon_s",
                "longest_wait_s", "wait_p50_s", "wait_p90_s", "aht_s", "talk_time_s",
                "hold_time_s", "acw_time_s", "transfer_rate", "hold_rate",
                "contacts_outside_hours"],
    "resolution": ["fcr", "fcr_pending", "fcr_survey", "repeat_contact_rate", "csat",
                   "csat_top2_box", "survey_response_rate", "nps"],
    "agents": ["contacts_per_logged_in_hour", "occupancy", "utilization", "pause_time_s",
               "pause_share", "qa_score", "agent_score", "agent_rank"],
    "helpdesk": ["ticket_volume", "first_response_time_s", "first_response_time_median_s",
                 "resolution_time_s", "backlog", "reopen_rate", "one_touch_rate"],
    "outbound": ["attempts", "contact_rate", "conversion_rate", "targets_reached",
                 "target_share_of_goal", "attempts_per_lead", "max_dials_per_lead",
                 "handle_time_per_sale_s", "order_processing_time_s", "revenue"],
    "workforce": ["headcount", "attrition_rate", "attrition_rate_annualised",
                  "absenteeism_rate", "training_ratio", "agents_assigned", "cost_per_contact"],
    "trends": ["period_change", "period_change_pct", "fluctuation_cv", "active_customers",
               "active_customer_growth"],
}


def test_catalog_holds_the_kpis_of_issue_3_one_file_per_family() -> None:
    catalog = load_catalog()
    assert set(ISSUE_3) <= {p.stem for p in CATALOG_DIR.glob("*.yaml")}
    for family, names in ISSUE_3.items():
        for name in names:
            assert catalog.metrics[name].family == family


def test_every_kpi_is_documented_and_quoted() -> None:
    for m in load_catalog().metrics.values():
        assert m.definition and m.missing, m.name
        assert m.sources and m.sources[0].title, m.name
        assert m.location.line > 0


def test_service_level_has_every_variant() -> None:
    sl = load_catalog().metrics["service_level"]
    assert sl.type is MetricType.RATIO
    assert set(sl.variants) == {"net_of_short_abandons", "of_offered", "of_answered",
                                "abandons_in_threshold_met", "abandons_in_threshold_excluded"}


GOOD = """\
family: test
measures:
  - name: offered
    table: contacts
    agg: count
    filter: direction = 'inbound'
metrics:
  - name: sl
    type: ratio
    unit: ratio
    direction: higher_is_better
    definition: d
    missing: m
    sources: [{title: t}]
    params:
      threshold_s: {type: float, default: 20, min: 0, max: 600}
    numerator: {measure: offered, filter: wait_s <= :threshold_s}
    denominator: {measure: offered}
"""


def _load(tmp_path: Path, text: str) -> DefinitionError:
    path = tmp_path / "test.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as info:
        load_catalog([path])
    return info.value


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "test.yaml"
    path.write_text(GOOD)
    assert list(load_catalog([path]).metrics) == ["sl"]


@pytest.mark.parametrize(("old", "new", "line", "field", "message"), [
    ("numerator:", "numerater:", 17, "metrics.sl.numerater", "unknown key"),
    ("wait_s <= :threshold_s", "lower(queue) = 'x'", 17, "metrics.sl.numerator.filter",
     "not allowed"),
    ("wait_s <= :threshold_s", "wait_secs <= :threshold_s", 17,
     "metrics.sl.numerator.filter", "unknown column 'wait_secs'"),
    ("wait_s <= :threshold_s", "wait_s <= :limit_s", 17, "metrics.sl.numerator.filter",
     "placeholder :limit_s"),
    ("default: 20", "default: 900", 16, "metrics.sl.params.threshold_s.default",
     "above the maximum"),
    ("{measure: offered}", "{measure: offerd}", 18, "metrics.sl.denominator.measure",
     "unknown measure 'offerd'"),
    ("table: contacts", "table: contact", 3, "measures.offered.table", "unknown table"),
    ("agg: count", "agg: total", 5, "measures.offered.agg", "not a valid agg"),
    ("    sources: [{title: t}]\n", "", 8, "metrics.sl.sources", "must quote its source"),
    ("    filter: direction = 'inbound'\n", "    spread_until: ended_at\n", 3,
     "measures.offered.spread_until", "spread_until needs a timestamp column"),
])
def test_bad_definitions_name_file_line_field(tmp_path: Path, old: str, new: str, line: int,
                                              field: str, message: str) -> None:
    err = _load(tmp_path, GOOD.replace(old, new))
    assert f"test.yaml:{line}: {field}" in str(err.where)
    assert message in err.message
    assert err.hint or message in ("not a valid agg",)


def test_a_typo_gets_a_suggestion(tmp_path: Path) -> None:
    err = _load(tmp_path, GOOD.replace("numerator:", "numerater:"))
    assert "did you mean 'numerator'" in (err.hint or "")


def test_a_variant_may_not_change_the_type(tmp_path: Path) -> None:
    text = GOOD + "    variants:\n      other: {description: x, type: simple}\n"
    err = _load(tmp_path, text)
    assert "variants.other.type" in str(err.where)
    assert "may not change the metric type" in err.message


def test_variant_params_are_checked(tmp_path: Path) -> None:
    text = GOOD + "    variants:\n      slow: {params: {threshold_s: -5}}\n"
    err = _load(tmp_path, text)
    assert "variants.slow.params.threshold_s" in str(err.where)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    err = _load(tmp_path, GOOD.replace("agg: count", "agg: [count"))
    assert "test.yaml:" in str(err.where) and "not valid YAML" in err.message


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(GOOD)
    other = tmp_path / "b.yaml"
    other.write_text(GOOD.replace("family: test", "family: other"))
    with pytest.raises(DefinitionError, match="duplicate"):
        load_catalog([path, other])
