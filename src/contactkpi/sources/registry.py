"""Source kinds by name: the built-in ones and any registered under the entry-point group
``contactkpi.sources`` (a third-party source is found the same way a built-in one is)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from contactkpi.errors import UserError
from contactkpi.sources.base import Source

#: kind -> "module:Class" of the built-in sources.
BUILTIN_SOURCES: dict[str, str] = {
    "csv": "contactkpi.sources.tabular:CsvSource",
    "parquet": "contactkpi.sources.tabular:ParquetSource",
    "xlsx": "contactkpi.sources.tabular:XlsxSource",
    "connect": "contactkpi.sources.amazon_connect_ctr:AmazonConnectCtrSource",
    "tickets": "contactkpi.sources.helpdesk_tickets:HelpdeskTicketsSource",
    "asterisk": "contactkpi.sources.asterisk:AsteriskQueueLogSource",
}


def _all() -> dict[str, str]:
    found = dict(BUILTIN_SOURCES)
    for ep in entry_points(group="contactkpi.sources"):
        found.setdefault(ep.name, ep.value)
    return found


def kinds() -> list[str]:
    return sorted(_all())


def get_source(kind: str) -> Source:
    """An instance of the source registered as ``kind``."""
    target = _all().get(kind.lower())
    if target is None:
        raise UserError(f"unknown source kind {kind!r}", where="KIND",
                        hint="choose one of: " + ", ".join(kinds()))
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls()  # type: ignore[no-any-return]
