"""Where canonical rows live: the warehouse and its atomic, idempotent loads."""

from __future__ import annotations

from contactkpi.store.loads import LoadResult, TableCounts, load, load_frames
from contactkpi.store.warehouse import LOAD_LOG, REJECTS, Warehouse

__all__ = ["LOAD_LOG", "REJECTS", "LoadResult", "TableCounts", "Warehouse", "load", "load_frames"]
