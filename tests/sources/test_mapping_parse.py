"""The mapping parser: examples load, every mistake is a MappingError naming file and key."""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.errors import MappingError
from contactkpi.model import TABLES
from contactkpi.model.columns import Kind
from contactkpi.sources.mapping import (
    AllOf,
    Compare,
    FieldSpec,
    load_mapping,
    parse_mapping,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "mappings").glob("*.toml"))

_CONTACT = {"contact_id": "Id", "channel": "Ch", "direction": "Dir"}


def _contacts(**columns: Any) -> dict[str, Any]:
    return {"tables": {"contacts": {"columns": {**_CONTACT, **columns}}}}


def _error(data: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as info:
        parse_mapping(data, origin="m.toml")
    return info.value


def test_there_is_an_example_for_every_canonical_table() -> None:
    mapped = {t.name for path in EXAMPLES for t in load_mapping(path).tables}
    assert mapped == set(TABLES)
    assert len(EXAMPLES) == len(TABLES) + 1  # one per table (surveys also in contacts) + bank


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_load_and_round_trip(path: Path) -> None:
    mapping = load_mapping(path)
    assert parse_mapping(mapping.to_dict(), origin=str(path)) == mapping
    assert parse_mapping(tomllib.loads(_toml(mapping.to_dict()))) == mapping


def test_contacts_example_is_read_as_written() -> None:
    m = load_mapping(REPO / "examples" / "mappings" / "contacts.toml")
    assert [t.name for t in m.tables] == ["contacts", "surveys"]
    contacts, surveys = m.tables
    assert m.source.timezone == "Europe/London"
    arrived = contacts.column("arrived_at")
    assert arrived is not None
    assert arrived.alternatives == (FieldSpec(
        origin="datetime", date_column="Date", time_column="Time", date_format="%d/%m/%Y",
        time_format="%H:%M:%S"),)
    outcome = contacts.column("outcome")
    assert outcome is not None and outcome.alternatives[0].map is not None
    assert outcome.alternatives[0].map.lookup == {"y": "answered", "n": "abandoned"}
    channel = contacts.column("channel")
    assert channel is not None and channel.alternatives[0].value == "voice"
    assert surveys.when == Compare("CSAT", "present", True)
    assert "CSAT" in m.source_columns() and "Call ID" in m.source_columns()


@pytest.mark.parametrize(("data", "where", "words"), [
    ({"tables": {}, "sheets": 1}, "m.toml: sheets", "unknown key"),
    ({"source": {"delimter": ";"}, **_contacts()}, "m.toml: source.delimter", "delimiter"),
    ({"tables": {"contcts": {}}}, "m.toml: tables.contcts", "contacts"),
    (_contacts(wait=1), "m.toml: tables.contacts.columns.wait", "wait_s"),
    (_contacts(wait_s={"column": "W", "unit": "hms"}),
     "m.toml: tables.contacts.columns.wait_s.unit", "duration"),
    (_contacts(wait_s={"column": "W", "duration": "secs"}),
     "m.toml: tables.contacts.columns.wait_s.duration", "seconds"),
    (_contacts(arrived_at={"column": "A", "format": "%d/%m/%Q"}),
     "m.toml: tables.contacts.columns.arrived_at.format", "%Q"),
    (_contacts(arrived_at={"column": "A", "format": "dd/mm/yyyy"}),
     "m.toml: tables.contacts.columns.arrived_at.format", "no % directive"),
    (_contacts(arrived_at={"date": "D", "time": "T", "time_format": "%d %H"}),
     "m.toml: tables.contacts.columns.arrived_at.time_format", "date directives"),
    (_contacts(arrived_at={"date": "D"}), "m.toml: tables.contacts.columns.arrived_at.date",
     "date needs time"),
    (_contacts(queue={"column": "Q", "format": "%Y"}),
     "m.toml: tables.contacts.columns.queue.format", "timestamps and dates"),
    (_contacts(arrived_at={"column": "A", "timezone": "Europe/Pariss"}),
     "m.toml: tables.contacts.columns.arrived_at.timezone", "unknown time zone"),
    ({"source": {"timezone": "Mars/Olympus"}, **_contacts()}, "m.toml: source.timezone",
     "unknown time zone"),
    ({"source": {"encoding": "utf-9"}, **_contacts()}, "m.toml: source.encoding",
     "unknown encoding"),
    ({"source": {"decimal": ";"}, **_contacts()}, "m.toml: source.decimal", "decimal"),
    ({"source": {"header_row": -1}, **_contacts()}, "m.toml: source.header_row", ">= 0"),
    (_contacts(queue={"column": "Q", "value": "x"}), "m.toml: tables.contacts.columns.queue",
     "exactly one"),
    (_contacts(queue={"template": "{Q"}), "m.toml: tables.contacts.columns.queue.template",
     "bad template"),
    (_contacts(queue={"column": "Q", "default": "x"}),
     "m.toml: tables.contacts.columns.queue.default", "goes with map"),
    (_contacts(queue={"column": "Q", "when": {"column": "X", "gt": "3"}}),
     "m.toml: tables.contacts.columns.queue.when.gt", "number"),
    (_contacts(queue={"column": "Q", "when": {"column": "X"}}),
     "m.toml: tables.contacts.columns.queue.when", "operator"),
    (_contacts(queue=[{"column": "Q"}, {"value": "x", "when": {"any": [{"colum": "X"}]}}]),
     "m.toml: tables.contacts.columns.queue[2].when.any[1].colum", "column"),
    ({"tables": {"contacts": {"columns": {"contact_id": "Id", "channel": "Ch"}}}},
     "m.toml: tables.contacts", "direction"),
    ({"tables": {"contacts": {"columns": _CONTACT, "constants": {"channel": "voice"}}}},
     "m.toml: tables.contacts.constants.channel", "mapped twice"),
    ({"tables": {"contacts": {"columns": _CONTACT, "constants": {"queue": ["a"]}}}},
     "m.toml: tables.contacts.constants.queue.value", "single value"),
    ({"tables": {}}, "m.toml: tables", "maps no table"),
])
def test_mistakes_name_file_key_and_hint(data: dict[str, Any], where: str, words: str) -> None:
    err = _error(data)
    assert err.where == where
    assert words in f"{err.message} {err.hint}"


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[tables.contacts.columns]\ncontact_id = { column = "Id",\n  }\n')
    with pytest.raises(MappingError, match="not valid TOML") as info:
        load_mapping(bad)
    assert info.value.where == str(bad)
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(MappingError, match="not UTF-8"):
        load_mapping(latin)


def test_condition_with_several_operators_means_all() -> None:
    m = parse_mapping({"tables": {"contacts": {
        "when": {"column": "Wait", "ge": 0, "lt": 3600}, "columns": _CONTACT}}})
    assert m.tables[0].when == AllOf((Compare("Wait", "ge", 0), Compare("Wait", "lt", 3600)))


# ----------------------------------------------------------------------------- properties


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}"
                                for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _toml(data: dict[str, Any]) -> str:
    """A tiny TOML writer: every top-level key on one line, nested values inline."""
    return "\n".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in data.items()) + "\n"


_names = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P", "S"),
                               exclude_characters="{}\\\""), min_size=1, max_size=12) \
    .filter(lambda s: s.strip() == s and s != "")
_words = st.text("abcdefghijklmnopqrstuvwxyz ABC-_/", min_size=1, max_size=10).map(str.strip) \
    .filter(bool)
_scalars = st.one_of(_words, st.integers(-1000, 1000),
                     st.floats(allow_nan=False, allow_infinity=False, width=32))
_TS_FORMATS = ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%y %I:%M %p", "%Y%m%dT%H%M%S%z",
               "%d.%m.%Y %H:%M:%S.%f"]
_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y", "%b %d %Y"]
_TIME_FORMATS = ["%H:%M:%S", "%H:%M", "%I:%M:%S %p"]
_ZONE_NAMES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]


@st.composite
def _conditions(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    if depth < 2 and draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(["all", "any", "not"]))
        if key == "not":
            return {"not": draw(_conditions(depth + 1))}
        return {key: draw(st.lists(_conditions(depth + 1), min_size=1, max_size=3))}
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "present"]))
    if op == "present":
        operand: Any = draw(st.booleans())
    elif op in ("in", "not_in"):
        operand = draw(st.lists(st.one_of(_words, st.integers(-9, 9)), min_size=1, max_size=3))
    elif op in ("gt", "ge", "lt", "le"):
        operand = draw(st.integers(-100, 100))
    else:
        operand = draw(st.one_of(_words, st.integers(-9, 9)))
    out = {"column": draw(_names), op: operand}
    if draw(st.booleans()):
        out["ignore_case"] = draw(st.booleans())
    return out


@st.composite
def _field_specs(draw: st.DrawFn, kind: Kind, allowed: frozenset[str] | None) -> Any:
    column = draw(_names)
    if kind is Kind.TIMESTAMP:
        choice = draw(st.integers(0, 2))
        if choice == 0:
            spec: dict[str, Any] = {"column": column, "format": draw(st.sampled_from(_TS_FORMATS))}
        elif choice == 1:
            spec = {"date": column, "time": draw(_names),
                    "date_format": draw(st.sampled_from(_DATE_FORMATS)),
                    "time_format": draw(st.sampled_from(_TIME_FORMATS))}
        else:
            return column
        if draw(st.booleans()):
            spec["timezone"] = draw(st.sampled_from(_ZONE_NAMES))
    elif kind is Kind.DURATION:
        spec = {"column": column, "duration": draw(st.sampled_from(
            ["seconds", "milliseconds", "minutes", "hours", "hms"]))}
    elif kind is Kind.CODE and allowed:
        keys = draw(st.lists(_words, min_size=1, max_size=4, unique_by=str.lower))
        spec = {"column": column, "map": {k: draw(st.sampled_from(sorted(allowed)))
                                          for k in keys}}
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from(sorted(allowed)))
        if draw(st.booleans()):
            spec["ignore_case"] = True
    else:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            return column
        spec = [{"column": column}, {"value": draw(_scalars)},
                {"template": "{" + column + "}-" + draw(_words) + "-{_line}"},
                {"line": True}][choice]
    if draw(st.integers(0, 3)) == 0:
        spec["when"] = draw(_conditions())
    if draw(st.integers(0, 4)) == 0:
        return [spec, {"value": "x"}] if kind in (Kind.STRING,) else [spec, copy.deepcopy(spec)]
    return spec


@st.composite
def _mappings(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["description"] = draw(_words)
    source: dict[str, Any] = {}
    options = {
        "format": st.sampled_from(["csv", "parquet", "xlsx"]),
        "delimiter": st.sampled_from([",", ";", "|", "\t"]),
        "quote": st.sampled_from(['"', "'", ""]),
        "encoding": st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]),
        "header_row": st.integers(0, 5),
        "skip_rows": st.integers(0, 3),
        "sheet": st.one_of(_words, st.integers(1, 5)),
        "decimal": st.sampled_from([".", ","]),
        "timezone": st.sampled_from(_ZONE_NAMES),
        "ambiguous": st.sampled_from(["earlier", "later", "reject"]),
        "null_values": st.lists(_words, max_size=3),
    }
    for key in draw(st.lists(st.sampled_from(sorted(options)), unique=True)):
        source[key] = draw(options[key])
    if "quote" in source and source.get("delimiter") == source["quote"]:
        source.pop("quote")
    if draw(st.booleans()):
        source["thousands"] = " " if source.get("decimal", ".") == "," else ","
    if source:
        data["source"] = source
    tables: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(TABLES)), min_size=1, max_size=3,
                              unique=True)):
        table = TABLES[name]
        optional = [c.name for c in table.columns if not c.required and c.name != "tenant"]
        chosen = [c.name for c in table.columns if c.required and c.name != "tenant"]
        chosen += draw(st.lists(st.sampled_from(optional), unique=True, max_size=4)) \
            if optional else []
        columns = {c: draw(_field_specs(table.column(c).kind, table.column(c).allowed))
                   for c in chosen}
        spec: dict[str, Any] = {"columns": columns}
        if draw(st.booleans()):
            spec["when"] = draw(_conditions())
        tables[name] = spec
    data["tables"] = tables
    return data


@settings(max_examples=150, deadline=None)
@given(_mappings())
def test_random_valid_mappings_round_trip(data: dict[str, Any]) -> None:
    parsed = parse_mapping(data, origin="r.toml")
    assert parse_mapping(tomllib.loads(_toml(data)), origin="r.toml") == parsed
    assert parse_mapping(parsed.to_dict(), origin="r.toml") == parsed
    assert parse_mapping(tomllib.loads(_toml(parsed.to_dict())), origin="r.toml") == parsed
    for t, raw in zip(parsed.tables, data["tables"].values(), strict=True):
        assert [c.name for c in t.columns] == list(raw["columns"])
        for c in t.columns:
            given_spec = raw["columns"][c.name]
            count = len(given_spec) if isinstance(given_spec, list) else 1
            assert len(c.alternatives) == count
    for key, value in data.get("source", {}).items():
        got = getattr(parsed.source, key)
        assert (list(got) if isinstance(got, tuple) else got) == value or (
            isinstance(value, float) and math.isclose(got, value))


def _strict_nodes(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every dict of a mapping that rejects unknown keys, with its dotted path."""
    nodes: list[tuple[dict[str, Any], str]] = [(data, "")]
    if "source" in data:
        nodes.append((data["source"], "source"))
    nodes.append((data["tables"], "tables"))

    def condition(c: dict[str, Any], path: str) -> None:
        nodes.append((c, path))
        for key in ("all", "any"):
            for i, part in enumerate(c.get(key, []), 1):
                condition(part, f"{path}.{key}[{i}]")
        if "not" in c:
            condition(c["not"], f"{path}.not")

    for name, table in data["tables"].items():
        nodes.append((table, f"tables.{name}"))
        nodes.append((table["columns"], f"tables.{name}.columns"))
        if "when" in table:
            condition(table["when"], f"tables.{name}.when")
        for col, spec in table["columns"].items():
            alts = spec if isinstance(spec, list) else [spec]
            for i, alt in enumerate(alts, 1):
                if not isinstance(alt, dict):
                    continue
                path = f"tables.{name}.columns.{col}" + (f"[{i}]" if isinstance(spec, list)
                                                         else "")
                nodes.append((alt, path))
                if "when" in alt:
                    condition(alt["when"], f"{path}.when")
    return nodes


@settings(max_examples=150, deadline=None)
@given(_mappings(), st.data(), st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True))
def test_an_unknown_key_anywhere_is_named(data: dict[str, Any], pick: st.DataObject,
                                          suffix: str) -> None:
    key = f"zz{suffix}"
    node, path = pick.draw(st.sampled_from(_strict_nodes(data)))
    node[key] = "x"
    err = _error(data)
    assert err.where == f"m.toml: {path}.{key}" if path else f"m.toml: {key}"
    assert repr(key) in err.message
