"""A small SQL-predicate language, parsed with sqlglot and translated node by node to Ibis.

Allowed: ``=``, ``<>``/``!=``, ``<``, ``<=``, ``>``, ``>=``, ``IN (...)``, ``IN :param``,
``BETWEEN``, ``LIKE``, ``IS [NOT] NULL``, ``AND``, ``OR``, ``NOT``, parentheses, ``+ - * / %``,
unary minus, string and number literals, ``TRUE``/``FALSE``, bare column names and ``:param``
placeholders. KPI definitions may also call a few named functions (``elapsed_s``,
``coalesce``). Any other node (sub-queries, other function calls, casts, several statements,
qualified ``table.column`` names) is refused with a DefinitionError (catalog) or a
QueryError (``--where``). No SQL text ever reaches an engine: the result is an Ibis
expression, so filters run on every backend and cannot inject.

In ``--where`` a bare word on the right of a comparison with a known column is read as text:
``queue=sales`` means ``queue = 'sales'``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from contactkpi.errors import DefinitionError, QueryError, UserError

Mode = Literal["definition", "user"]

#: Functions a KPI definition may call; users' --where may call none.
DEFINITION_FUNCTIONS = frozenset({"elapsed_s", "coalesce"})

_COMPARISONS: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Mod: lambda a, b: a % b,
}
_ALLOWED = (
    exp.And, exp.Or, exp.Not, exp.Paren, exp.In, exp.Is, exp.Between, exp.Like, exp.Column,
    exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Placeholder, exp.Neg, exp.Div,
    *_COMPARISONS, *_ARITHMETIC,
)


@dataclass(frozen=True)
class Predicate:
    """A parsed, whitelisted predicate or arithmetic expression."""

    text: str
    ast: exp.Expression
    columns: frozenset[str]
    placeholders: frozenset[str]
    functions: frozenset[str]


def _error(mode: Mode) -> type[UserError]:
    return DefinitionError if mode == "definition" else QueryError


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Coalesce):
        return "coalesce"
    return None


class _Refused(Exception):
    """A parse problem, turned into the mode's error type with the caller's ``where``."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse(text: str, *, where: str, mode: Mode, what: str = "filter") -> Predicate:
    """Parse ``text`` and check every node against the whitelist.

    Args:
        text: the predicate, e.g. ``outcome = 'answered' AND wait_s <= :threshold_s``.
        where: file:line and field (catalog) or the option name (user), for errors.
        mode: ``definition`` (catalog: named functions allowed) or ``user`` (--where).
        what: a word for error messages (``filter``, ``expression``).
    """
    try:
        return _parse(text, mode, what)
    except _Refused as exc:
        raise _error(mode)(exc.message, where=where, hint=exc.hint) from None


@functools.lru_cache(maxsize=4096)
def _parse(text: str, mode: Mode, what: str) -> Predicate:
    def err(message: str, hint: str | None = None) -> _Refused:
        return _Refused(message, hint)

    if not isinstance(text, str) or not text.strip():
        raise err(f"empty {what}", hint="write a predicate such as queue = 'sales'")
    try:
        ast = sqlglot.parse_one(text)
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0][:160]
        raise err(f"cannot parse {what} {text!r}: {first}",
                  hint="use column = 'value', IN (...), IS NULL, AND/OR/NOT, < <= > >=") from None
    if ast is None:
        raise err(f"empty {what}")
    columns: set[str] = set()
    placeholders: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk():
        fname = _function_name(node)
        if fname is not None:
            if mode != "definition" or fname not in DEFINITION_FUNCTIONS:
                raise err(f"function calls are not allowed in a {what}: {node.sql()[:80]}",
                         
                          hint="compare columns with literals; functions, casts and "
                          "sub-queries are refused")
            functions.add(fname)
            continue
        if not isinstance(node, _ALLOWED):
            raise err(f"{type(node).__name__.lower()} is not allowed in a {what}: "
                      f"{node.sql()[:80]!r}",
                      hint="allowed: = <> < <= > >= IN BETWEEN LIKE IS [NOT] NULL AND OR NOT "
                      "+ - * / %, literals, column names and :params")
        if isinstance(node, exp.Column):
            if node.table or node.args.get("db") or node.args.get("catalog"):
                raise err(f"qualified column names are not allowed: {node.sql()!r}",
                          hint="write the bare column name")
            columns.add(node.name)
        elif isinstance(node, exp.Placeholder):
            if not node.this:
                raise err("anonymous ? placeholders are not allowed",
                          hint="name the parameter, e.g. :threshold_s")
            placeholders.add(str(node.this))
        elif isinstance(node, exp.In) and node.args.get("query") is not None:
            raise err("IN (SELECT ...) is not allowed")
        elif isinstance(node, exp.Null) and not isinstance(node.parent, exp.Is):
            raise err(f"NULL can only be tested with IS [NOT] NULL in a {what}",
                      hint="x = NULL is never true; write x IS NULL")
    return Predicate(text=text, ast=ast, columns=frozenset(columns),
                     placeholders=frozenset(placeholders), functions=frozenset(functions))


def _literal(node: exp.Literal) -> Any:
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    try:
        return int(text)
    except ValueError:
        return float(text)


def safe_divide(a: Any, b: Any) -> Any:
    """``a / b`` that is null (not an error, not infinity) when ``b`` is 0."""
    b_val = b if isinstance(b, ir.Value) else ibis.literal(b)
    return ibis.ifelse(b_val == 0, ibis.null(), a / b_val)


class Translator:
    """Turns a Predicate into an Ibis expression over one relation.

    Args:
        column: returns the Ibis column (or computed value) for a name; raises KeyError for
            names it does not know.
        param: returns a placeholder's value (Python value or Ibis expression); KeyError if
            unknown.
        functions: named functions (definition mode), called with translated arguments and
            the raw AST nodes.
        mode: decides the error type and whether bare words may be read as text.
        where: for error messages.
    """

    def __init__(
        self,
        column: Callable[[str], Any],
        param: Callable[[str], Any],
        *,
        mode: Mode,
        where: str,
        functions: Mapping[str, Callable[[list[Any], list[exp.Expression]], Any]] | None = None,
    ):
        self._column = column
        self._param = param
        self._functions = functions or {}
        self._err = _error(mode)
        self._mode = mode
        self._where = where

    def __call__(self, pred: Predicate) -> Any:
        try:
            return self._tr(pred.ast)
        except UserError:
            raise
        except (TypeError, AttributeError, NotImplementedError, ValueError) as exc:
            # Ibis refuses ill-typed operations (string < number, ...): say so plainly.
            raise self._err(f"cannot evaluate {pred.text!r}: {exc}", where=self._where,
                            hint="compare columns with values of the same type") from None

    def _col(self, node: exp.Column, lenient: bool = False) -> Any:
        name = node.name
        try:
            return self._column(name)
        except KeyError:
            if lenient and not node.this.quoted:
                return ibis.literal(name)
            raise self._err(f"unknown column {name!r}", where=self._where,
                            hint="use a canonical column or a dimension of this table "
                            "(see `contactkpi metrics explain NAME`)") from None

    def _placeholder(self, node: exp.Placeholder) -> Any:
        name = str(node.this)
        try:
            value = self._param(name)
        except KeyError:
            raise self._err(f"unknown parameter :{name}", where=self._where,
                            hint="declare it under params") from None
        if isinstance(value, ir.Value):
            return value
        if isinstance(value, tuple | list):
            return list(value)
        return ibis.literal(value)

    def _operand(self, node: exp.Expression, other: exp.Expression | None) -> Any:
        lenient = (self._mode == "user" and isinstance(node, exp.Column)
                   and isinstance(other, exp.Column))
        if lenient:
            return self._col(node, lenient=True)
        return self._tr(node)

    def _tr(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Paren):
            return self._tr(node.this)
        if isinstance(node, exp.And):
            return self._tr(node.this) & self._tr(node.expression)
        if isinstance(node, exp.Or):
            return self._tr(node.this) | self._tr(node.expression)
        if isinstance(node, exp.Not):
            return ~self._tr(node.this)
        if type(node) in _COMPARISONS:
            left = self._tr(node.this)
            right = self._operand(node.expression, node.this)
            return _COMPARISONS[type(node)](left, right)
        if isinstance(node, exp.In):
            left = self._tr(node.this)
            field = node.args.get("field")
            if isinstance(field, exp.Placeholder):
                values = self._placeholder(field)
                if not isinstance(values, list):
                    values = [values]
                return left.isin(values)
            items = [self._operand(e, node.this) for e in node.expressions]
            return left.isin(items)
        if isinstance(node, exp.Between):
            value = self._tr(node.this)
            return value.between(self._tr(node.args["low"]), self._tr(node.args["high"]))
        if isinstance(node, exp.Like):
            return self._tr(node.this).like(self._tr(node.expression))
        if isinstance(node, exp.Is):
            value = self._tr(node.this)
            if isinstance(node.expression, exp.Null):
                return value.isnull()
            raise self._err("only IS NULL / IS NOT NULL are allowed", where=self._where)
        if type(node) in _ARITHMETIC:
            return _ARITHMETIC[type(node)](self._tr(node.this), self._tr(node.expression))
        if isinstance(node, exp.Div):
            return safe_divide(self._tr(node.this), self._tr(node.expression))
        if isinstance(node, exp.Neg):
            return -self._tr(node.this)
        if isinstance(node, exp.Column):
            return self._col(node)
        if isinstance(node, exp.Literal):
            return ibis.literal(_literal(node))
        if isinstance(node, exp.Boolean):
            return ibis.literal(bool(node.this))
        if isinstance(node, exp.Placeholder):
            return self._placeholder(node)
        fname = _function_name(node)
        if fname is not None and fname in self._functions:
            if isinstance(node, exp.Coalesce):
                args = [node.this, *node.expressions]
            else:
                args = list(node.expressions)
            return self._functions[fname]([self._tr(a) for a in args], args)
        raise self._err(f"{type(node).__name__.lower()} is not allowed: {node.sql()[:80]!r}",
                        where=self._where)
