"""Row validation: hand-made cases and properties over generated rows."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.model import TABLES
from contactkpi.model.validate import conform

CONTACTS = TABLES["contacts"]


def _row(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "tenant": "acme", "contact_id": "c1", "channel": "voice", "direction": "inbound",
        "arrived_at": "2026-03-02T09:00:00Z", "answered_at": "2026-03-02T09:00:12Z",
        "wait_s": "12", "talk_s": "100", "outcome": "answered",
    }
    base.update(over)
    return base


def _reasons(*rows: dict[str, object]) -> list[tuple[int, str, str]]:
    out = conform(CONTACTS, pd.DataFrame(list(rows)))
    return sorted(out.rejects[["line", "field", "reason_code"]].itertuples(index=False,
                                                                          name=None))


def test_a_good_row_is_typed() -> None:
    out = conform(CONTACTS, pd.DataFrame([_row(channel=" Voice ")]))
    assert out.rejects.empty
    row = out.rows.iloc[0]
    assert row["channel"] == "voice"
    assert row["wait_s"] == 12.0
    assert row["answered_at"] == pd.Timestamp("2026-03-02T09:00:12Z")
    assert str(out.rows["arrived_at"].dtype) == "datetime64[us, UTC]"


def test_each_broken_rule_names_line_field_and_reason() -> None:
    rows = [
        _row(),
        _row(contact_id=None),
        _row(arrived_at="32/13/2026"),
        _row(wait_s="-4"),
        _row(outcome="hung_up"),
        _row(answered_at="2026-03-02T08:59:00Z"),
        _row(transfers="1.5"),
        _row(direction="inbound", arrived_at=None, answered_at=None),
        _row(outcome="abandoned", talk_s="30", answered_at=None),
    ]
    assert _reasons(*rows) == [
        (2, "contact_id", "missing_required"),
        (3, "arrived_at", "bad_timestamp"),
        (4, "wait_s", "out_of_range"),
        (5, "outcome", "unknown_code"),
        (6, "answered_at", "rule:answered_at_not_before_arrived_at"),
        (7, "transfers", "not_an_integer"),
        (8, "arrived_at", "rule:arrived_at_required_when_direction_is_inbound"),
        (9, "talk_s", "rule:abandoned_without_talk"),
    ]
    assert len(conform(CONTACTS, pd.DataFrame(rows)).rows) == 1


def test_missing_value_is_not_zero() -> None:
    out = conform(CONTACTS, pd.DataFrame([_row(wait_s="", outcome="abandoned", talk_s=None,
                                               answered_at=None)]))
    assert out.rejects.empty
    assert pd.isna(out.rows.loc[0, "wait_s"])


def test_survey_ranges() -> None:
    frame = pd.DataFrame([
        {"tenant": "a", "survey_id": "1", "csat": "5", "nps": "10"},
        {"tenant": "a", "survey_id": "2", "csat": "6", "nps": "3"},
        {"tenant": "a", "survey_id": "3", "csat": "0", "nps": "-1"},
        {"tenant": "a", "survey_id": "4", "csat": "four", "fcr": "maybe"},
    ])
    out = conform(TABLES["surveys"], frame)
    got = sorted(out.rejects[["line", "field", "reason_code"]].itertuples(index=False, name=None))
    assert got == [(2, "csat", "out_of_range"), (3, "csat", "out_of_range"),
                   (3, "nps", "out_of_range"), (4, "csat", "not_a_number"),
                   (4, "fcr", "not_a_boolean")]
    assert out.rows["survey_id"].tolist() == ["1"]


text_values = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                        st.floats(allow_nan=True).map(str))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "contact_id": text_values, "channel": st.sampled_from(["voice", "chat", "fax", None, ""]),
    "direction": st.sampled_from(["inbound", "outbound", "sideways", None]),
    "arrived_at": st.one_of(st.none(), st.just("2026-01-01T00:00:00Z"), st.text(max_size=8)),
    "wait_s": text_values, "talk_s": text_values, "transfers": text_values,
    "outcome": st.sampled_from(["answered", "abandoned", "ANSWERED", "lost", None]),
}), max_size=25))
def test_every_row_is_kept_or_rejected_never_both(rows: list[dict[str, object]]) -> None:
    frame = pd.DataFrame(rows, columns=["contact_id", "channel", "direction", "arrived_at",
                                        "wait_s", "talk_s", "transfers", "outcome"])
    frame.insert(0, "tenant", "t")
    out = conform(CONTACTS, frame)
    kept = set(out.rows["_line"])
    rejected = set(out.rejects["line"])
    assert kept.isdisjoint(rejected)
    assert kept | rejected == set(range(1, len(rows) + 1))
    assert (out.rows["wait_s"].dropna() >= 0).all()
    assert out.rows["channel"].isin(TABLES["contacts"].column("channel").allowed).all()
    assert out.rejects["reason"].str.len().gt(0).all()
