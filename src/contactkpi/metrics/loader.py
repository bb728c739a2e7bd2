"""Load ``catalog/*.yaml`` into frozen specs, keeping file and line on every object.

The YAML reader records the line of every mapping and of every key, so each problem is
reported as ``file:line: field: message`` with a hint (``rules.py`` adds the checks that
need the whole catalog). All problems of a load are gathered and raised together as one
DefinitionError.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contactkpi.errors import DefinitionError
from contactkpi.metrics import params as params_mod
from contactkpi.metrics.spec import (
    Agg,
    Calculation,
    Catalog,
    Direction,
    Family,
    Format,
    InputRef,
    Measure,
    Metric,
    MetricType,
    Param,
    ParamType,
    RepeatSpec,
    SnapshotAt,
    Source,
    SourceLocation,
    TargetSpec,
    Unit,
    Variant,
)

CATALOG_DIR = Path(__file__).with_name("catalog")


class LineMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps lines and refuses duplicate keys."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> LineMap:
    out = LineMap()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Issue:
    """One problem in a definition."""

    location: SourceLocation
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.field}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


def raise_issues(issues: list[Issue]) -> None:
    """Raise one DefinitionError naming the first problem and counting the others."""
    if not issues:
        return
    first = issues[0]
    more = "" if len(issues) == 1 else f" (and {len(issues) - 1} more: " + "; ".join(
        str(i) for i in issues[1:6]) + ")"
    raise DefinitionError(first.message + more, where=f"{first.location}: {first.field}",
                          hint=first.hint)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean X?`` for a near miss, else None."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class _Reader:
    """Turns the raw YAML of one file into specs, collecting issues."""

    def __init__(self, file: str, issues: list[Issue]):
        self.file = file
        self.issues = issues

    def loc(self, node: Any, key: str | None = None) -> SourceLocation:
        if isinstance(node, LineMap):
            line = node.key_lines.get(key, node.line) if key else node.line
            return SourceLocation(self.file, line)
        return SourceLocation(self.file, 0)

    def issue(self, node: Any, key: str | None, field: str, message: str,
              hint: str | None = None) -> None:
        self.issues.append(Issue(self.loc(node, key), field, message, hint))

    def keys(self, node: Any, allowed: Iterable[str], field: str,
             required: Iterable[str] = ()) -> bool:
        if not isinstance(node, dict):
            self.issues.append(Issue(SourceLocation(self.file, 0), field,
                                     f"expected a mapping, got {type(node).__name__}"))
            return False
        allowed = set(allowed)
        for k in node:
            if k not in allowed:
                self.issue(node, str(k), f"{field}.{k}", f"unknown key {k!r}",
                           suggest(str(k), allowed) or "allowed: " + ", ".join(sorted(allowed)))
        for k in required:
            if k not in node or node[k] in (None, ""):
                self.issue(node, None, f"{field}.{k}", f"{k} is required")
        return True

    def enum(self, node: Any, key: str, enum: type, field: str, default: Any = None) -> Any:
        value = node.get(key, default)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            choices = [e.value for e in enum]
            self.issue(node, key, f"{field}.{key}", f"{value!r} is not a valid {key}",
                       suggest(str(value), choices) or "choose from: " + ", ".join(choices))
            return None

    def text(self, node: Any, key: str, field: str, default: str | None = None) -> str | None:
        value = node.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.issue(node, key, f"{field}.{key}", "expected text")
            return None
        return " ".join(str(value).split()) if key in ("definition", "missing", "formula",
                                                        "description") else str(value)

    # ------------------------------------------------------------ measures

    def measure(self, node: Any, index: int) -> Measure | None:
        field = f"measures.{node['name']}" if isinstance(node, dict) and node.get("name") \
            else f"measures[{index}]"
        allowed = ("name", "table", "agg", "expr", "filter", "quantile", "per", "then",
                   "snapshot", "time_dimension", "description", "spread_until")
        if not self.keys(node, allowed, field, required=("name", "table", "agg")):
            return None
        field = f"measures.{node.get('name', index)}"
        agg = self.enum(node, "agg", Agg, field)
        then = self.enum(node, "then", Agg, field)
        quantile = node.get("quantile")
        if agg is Agg.PERCENTILE and not isinstance(quantile, int | float):
            self.issue(node, "agg", f"{field}.quantile", "a percentile needs quantile (0..1)",
                       "add quantile: 0.9")
        if agg and agg is not Agg.COUNT and not node.get("expr"):
            self.issue(node, "agg", f"{field}.expr", f"agg {agg.value} needs expr",
                       "name the column to aggregate, e.g. expr: wait_s")
        if agg is Agg.MEDIAN:
            agg, quantile = Agg.PERCENTILE, 0.5
        if node.get("per") and then is None:
            self.issue(node, "per", f"{field}.then", "per needs then (avg, max, ...)")
        if agg is None or not node.get("name"):
            return None
        return Measure(
            name=str(node["name"]), table=str(node["table"]), agg=agg,
            expr=self.text(node, "expr", field), filter=self.text(node, "filter", field),
            quantile=float(quantile) if isinstance(quantile, int | float) else None,
            per=self.text(node, "per", field), then=then,
            snapshot=bool(node.get("snapshot", False)),
            time_dimension=self.text(node, "time_dimension", field),
            description=self.text(node, "description", field) or "",
            location=self.loc(node),
            spread_until=self.text(node, "spread_until", field),
        )

    # ------------------------------------------------------------ params

    def param(self, name: str, node: Any, field: str) -> Param | None:
        f = f"{field}.params.{name}"
        if not self.keys(node, ("type", "default", "min", "max", "allowed", "description"), f,
                         required=("type",)):
            return None
        ptype = self.enum(node, "type", ParamType, f)
        if ptype is None:
            return None
        allowed = node.get("allowed")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max"):
            raw = node.get(key)
            try:
                bounds[key] = (None if raw is None else params_mod.parse_duration(raw)
                               if ptype is ParamType.DURATION else float(raw))
            except (TypeError, ValueError) as exc:
                self.issue(node, key, f"{f}.{key}", str(exc))
                bounds[key] = None
        p = Param(name=name, type=ptype, default=None,
                  description=self.text(node, "description", f) or "",
                  min=bounds["min"], max=bounds["max"],
                  allowed=tuple(str(a) for a in allowed) if isinstance(allowed, list) else None,
                  location=self.loc(node))
        if "default" not in node:
            self.issue(node, None, f"{f}.default", "a parameter needs a default")
            return None
        try:
            default = params_mod.coerce(p, node["default"])
        except ValueError as exc:
            self.issue(node, "default", f"{f}.default", f"bad default: {exc}",
                       "the default must have the declared type and lie within min..max")
            return None
        return Param(name=p.name, type=p.type, default=default, description=p.description,
                     min=p.min, max=p.max, allowed=p.allowed, location=p.location)

    # ------------------------------------------------------------ metric parts

    def input_ref(self, node: Any, field: str) -> InputRef | None:
        if isinstance(node, str):
            return InputRef(measure=node, location=SourceLocation(self.file, 0))
        if not self.keys(node, ("measure", "filter", "at"), field, required=("measure",)):
            return None
        at = self.enum(node, "at", SnapshotAt, field, default="period_end")
        return InputRef(measure=str(node["measure"]), filter=self.text(node, "filter", field),
                        at=at or SnapshotAt.PERIOD_END, location=self.loc(node))

    def sources(self, node: Any, field: str) -> tuple[Source, ...]:
        raw = node.get("sources") or []
        if not isinstance(raw, list):
            self.issue(node, "sources", f"{field}.sources", "expected a list")
            return ()
        out = []
        for i, s in enumerate(raw):
            if isinstance(s, str):
                out.append(Source(title=s))
                continue
            if self.keys(s, ("title", "url", "quote"), f"{field}.sources[{i}]",
                         required=("title",)):
                out.append(Source(title=str(s.get("title")), url=s.get("url"),
                                  quote=" ".join(str(s["quote"]).split()) if s.get("quote")
                                  else None))
        return tuple(out)

    def variant(self, name: str, node: Any, field: str, mtype: MetricType | None) -> Variant:
        f = f"{field}.variants.{name}"
        node = node if node is not None else LineMap()
        if isinstance(node, dict) and "type" in node:
            self.issue(node, "type", f"{f}.type", "a variant may not change the metric type",
                       "a different method is a different metric; override params or "
                       "filters only")
        allowed = ["description", "params", "type"]
        if mtype is MetricType.SIMPLE:
            allowed.append("filter")
        elif mtype is MetricType.RATIO:
            allowed += ["numerator", "denominator"]
        elif mtype is MetricType.DERIVED:
            allowed.append("inputs")
        elif mtype is MetricType.REPEAT_WINDOW:
            allowed += ["base", "repeat"]
        self.keys(node, allowed, f)
        filters: dict[str, str | None] = {}
        if "filter" in node:
            filters["value"] = self.text(node, "filter", f)
        for part in ("numerator", "denominator", "base"):
            if part in node:
                sub = node[part]
                if self.keys(sub, ("filter",), f"{f}.{part}"):
                    filters[part] = self.text(sub, "filter", f"{f}.{part}")
        if isinstance(node.get("inputs"), dict):
            for alias, sub in node["inputs"].items():
                if self.keys(sub, ("filter",), f"{f}.inputs.{alias}"):
                    filters[str(alias)] = self.text(sub, "filter", f"{f}.inputs.{alias}")
        repeat_filter, has_repeat = None, False
        if isinstance(node.get("repeat"), dict) and self.keys(node["repeat"], ("filter",),
                                                               f"{f}.repeat"):
            repeat_filter, has_repeat = self.text(node["repeat"], "filter", f"{f}.repeat"), True
        raw_params = node.get("params") or {}
        if not isinstance(raw_params, dict):
            self.issue(node, "params", f"{f}.params", "expected a mapping of param: value")
            raw_params = {}
        return Variant(name=name, description=self.text(node, "description", f) or "",
                       params=dict(raw_params), filters=filters, repeat_filter=repeat_filter,
                       overrides_repeat_filter=has_repeat, location=self.loc(node))

    def metric(self, node: Any, index: int, family: str) -> Metric | None:
        field = f"metrics[{index}]"
        common = ["name", "label", "type", "unit", "format", "direction", "definition",
                  "formula", "missing", "sources", "params", "variants", "default_variant",
                  "target", "dimensions", "drill", "time_dimension"]
        extra = {
            MetricType.SIMPLE: ["measure", "filter"],
            MetricType.RATIO: ["numerator", "denominator"],
            MetricType.DERIVED: ["inputs", "expr"],
            MetricType.REPEAT_WINDOW: ["base", "repeat", "calculation"],
            MetricType.TREND: ["calculation"],
            MetricType.SCORE: ["calculation", "entity"],
        }
        if not isinstance(node, dict):
            self.issues.append(Issue(SourceLocation(self.file, 0), field, "expected a mapping"))
            return None
        name = str(node.get("name", f"#{index}"))
        field = f"metrics.{name}" if node.get("name") else field
        mtype = self.enum(node, "type", MetricType, field)
        allowed = common + extra.get(mtype, []) if mtype else common + sum(extra.values(), [])
        self.keys(node, allowed, field, required=("name", "type", "unit", "direction",
                                                  "definition"))
        field = f"metrics.{name}"
        unit = self.enum(node, "unit", Unit, field)
        direction = self.enum(node, "direction", Direction, field)
        fmt = self.enum(node, "format", Format, field, default=_default_format(unit))
        params: dict[str, Param] = {}
        raw_params = node.get("params") or {}
        if isinstance(raw_params, dict):
            for pname, pnode in raw_params.items():
                p = self.param(str(pname), pnode, field)
                if p:
                    params[p.name] = p
        else:
            self.issue(node, "params", f"{field}.params", "expected a mapping")
        variants: dict[str, Variant] = {}
        raw_variants = node.get("variants") or {}
        if isinstance(raw_variants, dict):
            for vname, vnode in raw_variants.items():
                variants[str(vname)] = self.variant(str(vname), vnode, field, mtype)
        else:
            self.issue(node, "variants", f"{field}.variants", "expected a mapping")
        inputs: dict[str, InputRef] = {}
        repeat = None
        calc = self.enum(node, "calculation", Calculation, field)
        if mtype is MetricType.SIMPLE:
            if node.get("measure"):
                inputs["value"] = InputRef(str(node["measure"]), self.text(node, "filter", field),
                                           location=self.loc(node, "measure"))
            else:
                self.issue(node, None, f"{field}.measure", "a simple metric needs measure")
        elif mtype is MetricType.RATIO:
            for part in ("numerator", "denominator"):
                if part not in node:
                    self.issue(node, None, f"{field}.{part}", f"a ratio needs {part}")
                    continue
                ref = self.input_ref(node[part], f"{field}.{part}")
                if ref:
                    inputs[part] = ref
        elif mtype is MetricType.DERIVED:
            raw_inputs = node.get("inputs") or {}
            if not isinstance(raw_inputs, dict) or not raw_inputs:
                self.issue(node, "inputs", f"{field}.inputs", "a derived metric needs inputs")
            else:
                for alias, sub in raw_inputs.items():
                    ref = self.input_ref(sub, f"{field}.inputs.{alias}")
                    if ref:
                        inputs[str(alias)] = ref
            if not node.get("expr"):
                self.issue(node, None, f"{field}.expr", "a derived metric needs expr")
        elif mtype is MetricType.REPEAT_WINDOW:
            if "base" in node:
                ref = self.input_ref(node["base"], f"{field}.base")
                if ref:
                    inputs["base"] = ref
            else:
                self.issue(node, None, f"{field}.base", "a repeat_window metric needs base")
            repeat = self.repeat(node, field, calc)
        elif mtype in (MetricType.TREND, MetricType.SCORE) and calc is None:
            self.issue(node, None, f"{field}.calculation", f"a {mtype.value} metric needs "
                       "calculation")
        target = None
        if node.get("target") is not None:
            t = node["target"]
            if isinstance(t, int | float) and not isinstance(t, bool):
                target = TargetSpec(float(t))
            elif self.keys(t, ("value", "near", "params"), f"{field}.target",
                           required=("value",)):
                try:
                    target = TargetSpec(float(t["value"]), float(t.get("near", 0.0)),
                                        dict(t.get("params") or {}))
                except (TypeError, ValueError):
                    self.issue(t, "value", f"{field}.target", "target value must be a number")
        dims = node.get("dimensions")
        drill = node.get("drill") or []
        if None in (mtype, unit, direction) or not node.get("name"):
            return None
        return Metric(
            name=name, label=self.text(node, "label", field) or name.replace("_", " "),
            type=mtype, unit=unit, format=fmt or Format.NUMBER, direction=direction,
            definition=self.text(node, "definition", field) or "", family=family,
            formula=self.text(node, "formula", field) or "",
            missing=self.text(node, "missing", field) or "",
            sources=self.sources(node, field), params=params, variants=variants,
            default_variant=self.text(node, "default_variant", field), target=target,
            dimensions=tuple(str(d) for d in dims) if isinstance(dims, list) else None,
            drill=tuple(str(d) for d in drill) if isinstance(drill, list) else (),
            time_dimension=self.text(node, "time_dimension", field), inputs=inputs,
            expr=self.text(node, "expr", field), repeat=repeat, calculation=calc,
            of_param="of" if mtype is MetricType.TREND else None,
            over_param="over" if mtype is MetricType.TREND and calc is Calculation.CV else None,
            weights_param="weights" if mtype is MetricType.SCORE else None,
            entity_dimension=str(node.get("entity", "agent")) if mtype is MetricType.SCORE
            else None,
            location=self.loc(node),
        )

    def repeat(self, node: Any, field: str, calc: Calculation | None) -> RepeatSpec | None:
        r = node.get("repeat")
        f = f"{field}.repeat"
        if not self.keys(r, ("table", "filter", "entity", "match_on", "window"), f,
                         required=("entity", "match_on", "window")):
            return None
        refs = {}
        for key in ("match_on", "window"):
            value = str(r.get(key, ""))
            if not value.startswith(":"):
                self.issue(r, key, f"{f}.{key}", f"{key} must name a parameter, e.g. :{key}")
            refs[key] = value.lstrip(":")
        if calc is None:
            self.issue(node, None, f"{field}.calculation", "a repeat_window metric needs "
                       "calculation", "non_repeat_rate, repeat_rate, pending_count or "
                       "judged_count")
            return None
        return RepeatSpec(table=str(r.get("table", "contacts")),
                          filter=self.text(r, "filter", f), entity=str(r["entity"]),
                          match_on_param=refs["match_on"], window_param=refs["window"],
                          calculation=calc, location=self.loc(r))


def _default_format(unit: Unit | None) -> str:
    return {
        Unit.RATIO: "percent", Unit.SECONDS: "duration", Unit.COUNT: "integer",
        Unit.CURRENCY: "currency", Unit.POINTS: "points",
    }.get(unit, "number") if unit else "number"  # type: ignore[arg-type]


def read_file(path: Path, issues: list[Issue]) -> tuple[Family, list[Measure], list[Metric]]:
    """Parse one catalog file, appending problems to ``issues``."""
    shown = _display(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        issues.append(Issue(SourceLocation(shown, line), "yaml",
                            f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return Family(path.stem, path.stem, "", shown), [], []
    reader = _Reader(shown, issues)
    if not isinstance(raw, dict):
        issues.append(Issue(SourceLocation(shown, 1), "file", "expected a mapping with "
                            "family, measures and metrics"))
        return Family(path.stem, path.stem, "", shown), [], []
    reader.keys(raw, ("family", "title", "description", "measures", "metrics"), "file",
                required=("family",))
    family = Family(name=str(raw.get("family", path.stem)),
                    title=str(raw.get("title", raw.get("family", path.stem))),
                    description=" ".join(str(raw.get("description", "")).split()), file=shown)
    measures = [m for i, n in enumerate(raw.get("measures") or [])
                if (m := reader.measure(n, i)) is not None]
    metrics = [m for i, n in enumerate(raw.get("metrics") or [])
               if (m := reader.metric(n, i, family.name)) is not None]
    return family, measures, metrics


def load_catalog(paths: Iterable[Path] | Path | None = None) -> Catalog:
    """Load, check and return a catalog (default: the packaged ``catalog/*.yaml``).

    Raises:
        DefinitionError: naming file, line and field of the first problem found.
    """
    from contactkpi.metrics.rules import check_catalog

    if paths is None:
        files = sorted(CATALOG_DIR.glob("*.yaml"))
    elif isinstance(paths, Path):
        files = sorted(paths.glob("*.yaml")) if paths.is_dir() else [paths]
    else:
        files = [Path(p) for p in paths]
    issues: list[Issue] = []
    families: list[Family] = []
    measures: dict[str, Measure] = {}
    metrics: dict[str, Metric] = {}
    for f in files:
        family, ms, mets = read_file(f, issues)
        families.append(family)
        for m in ms:
            if m.name in measures:
                issues.append(Issue(m.location, f"measures.{m.name}", "duplicate measure name",
                                    f"first declared at {measures[m.name].location}"))
            measures[m.name] = m
        for met in mets:
            if met.name in metrics:
                issues.append(Issue(met.location, f"metrics.{met.name}", "duplicate metric name",
                                    f"first declared at {metrics[met.name].location}"))
            metrics[met.name] = met
    raise_issues(issues)
    catalog = Catalog(measures=measures, metrics=metrics, families=tuple(families))
    raise_issues(check_catalog(catalog))
    return catalog


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once."""
    return load_catalog()


def params_mapping(metric: Metric) -> Mapping[str, Any]:
    """Default value of each param of ``metric``."""
    return {name: p.default for name, p in metric.params.items()}
