"""Read CSV, Parquet and XLSX files in chunks of raw source columns with line numbers.

A reader knows the file format and nothing about the canonical model. It checks that every
source column the mapping names is in the header (refusing the whole file otherwise), then
yields ``RawChunk``s: the named columns as raw values (``None`` where blank), the line number
of every row, and the records it could not read at all (wrong field count, bad encoding).

Line numbers (the ``line`` of every row and reject):

- CSV: the physical line of the file where the record starts, counting from 1 with the header
  on its line (line 1 normally). A quoted field that spans lines makes the next record start
  further down, exactly as a text editor shows it. Blank lines are not records: they are
  skipped and not counted in ``RawChunk.records``.
- XLSX: the sheet row number as Excel shows it (header usually row 1); blank rows are skipped.
- Parquet: the row's position in the file, from 1 (Parquet has no header line).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import io
import itertools
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd

from contactkpi.errors import SourceError
from contactkpi.model.validate import empty_rejects
from contactkpi.sources.base import record_rejects
from contactkpi.sources.mapping import SourceOptions

__all__ = ["READERS", "RawChunk", "read_csv", "read_parquet", "read_xlsx"]

#: Reader signature: (path, options, needed source columns -> mapping key, chunk rows).
Reader = Callable[[Path, SourceOptions, Mapping[str, str], int], Iterator["RawChunk"]]

_VALUE_CHARS = 200


@dataclass
class RawChunk:
    """Source rows of one chunk, before any mapping is applied."""

    frame: pd.DataFrame  # the needed source columns, raw values, None where blank
    lines: np.ndarray  # line number of each row of frame (int64)
    rejects: pd.DataFrame = field(default_factory=empty_rejects)  # unreadable records
    records: int = 0  # source records consumed: rows of frame + unreadable records
    bytes_done: int = 0  # bytes of the file consumed so far (for progress)


def _refuse_empty(path: Path) -> int:
    size = path.stat().st_size
    if size == 0:
        raise SourceError("file is empty (0 bytes)", where=str(path),
                          hint="export it again; a file with just a header row loads 0 rows")
    return size


def _check_header(path: Path, header: list[str], needed: Mapping[str, str]) -> dict[str, int]:
    """Position of each needed column; a SourceError naming what is missing otherwise."""
    positions: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        seen[name] = seen.get(name, 0) + 1
        positions.setdefault(name, i)
    missing = [c for c in needed if c not in positions]
    if missing:
        first = missing[0]
        close = difflib.get_close_matches(first, header, n=1, cutoff=0.6)
        shown = ", ".join(repr(h) for h in header[:40]) + (" ..." if len(header) > 40 else "")
        listed = ", ".join(f"{c!r} (used by {needed[c]})" for c in missing[:5])
        raise SourceError(
            f"{'a column' if len(missing) == 1 else f'{len(missing)} columns'} of the mapping "
            f"not in the file: {listed}" + (" ..." if len(missing) > 5 else ""),
            where=str(path),
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + f"the file has columns: {shown}; fix the mapping or the export",
        )
    twice = [c for c in needed if seen.get(c, 0) > 1]
    if twice:
        raise SourceError(f"column {twice[0]!r} appears {seen[twice[0]]} times in the header",
                          where=str(path),
                          hint="rename one of them in the export, or use header_row = 0 and "
                          "refer to columns by position")
    return {c: positions[c] for c in needed}


def _reject_frame(items: list[tuple[int, str | None, str, str]]) -> pd.DataFrame:
    """Record-level rejects (no table, no field) from (line, value, code, reason) tuples."""
    return record_rejects([(line, (None, value, code, reason))
                           for line, value, code, reason in items])


def _clean_column(rows: list[list[str]], i: int, nulls: frozenset[str]) -> pd.Series:
    """Field ``i`` of every row, trimmed; None for blanks and null markers.

    One list comprehension: about 5x faster than pandas ``.str.strip`` on object columns.
    """
    return pd.Series([None if (s := r[i].strip()) in nulls or not s else s for r in rows],
                     dtype="object")


# ----------------------------------------------------------------------------- CSV


@dataclass
class _LineState:
    count: int = 0  # physical lines read
    offset: int = 0  # bytes read
    bad: int = 0  # lines that failed to decode
    last_bad: tuple[int, int, int] = (0, 0, 0)  # (line, byte offset, byte value)


def _ascii_compatible(encoding: str) -> bool:
    probe = "\n\r,;\t|\"'az09"
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def _decoded_lines(f: IO[bytes], encoding: str, state: _LineState,
                   block_size: int = 1 << 20) -> Iterator[str]:
    """Lines of a binary file (split on \\n only), decoded; bad bytes are replaced and counted.

    Blocks of whole lines are decoded at once; a block that fails is decoded line by line so
    the bad lines (and the byte offset of the first bad byte) are known exactly.
    """
    bom = codecs.lookup(encoding).name == "utf-8"
    carry = b""
    while True:
        block = f.read(block_size)
        data = carry + block
        cut = data.rfind(b"\n") + 1 if block else len(data)
        if not data:
            return
        if cut == 0:  # no line end yet: read on
            carry = data
            continue
        carry, whole = data[cut:], data[:cut]
        start = state.offset
        try:
            text = whole.decode(encoding)
        except UnicodeDecodeError:
            lines = None
        else:
            lines = text.split("\n")
            tail = lines.pop()
            lines = [line + "\n" for line in lines]
            if tail:
                lines.append(tail)
        if lines is not None:
            if bom and start == 0 and lines and lines[0].startswith("\ufeff"):
                lines[0] = lines[0][1:]
            for line, size in zip(lines, map(len, _split_keep(whole)), strict=True):
                state.count += 1
                state.offset += size
                yield line
        else:
            for raw in _split_keep(whole):
                line_start = state.offset
                state.count += 1
                state.offset += len(raw)
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    state.bad += 1
                    state.last_bad = (state.count, line_start + exc.start, raw[exc.start])
                    line = raw.decode(encoding, "replace")
                if bom and line_start == 0 and line.startswith("\ufeff"):
                    line = line[1:]
                yield line
        if not block:
            return


def _split_keep(data: bytes) -> list[bytes]:
    """``data`` split after each \\n (bytes.splitlines would also split on \\r)."""
    parts = data.split(b"\n")
    tail = parts.pop()
    out = [p + b"\n" for p in parts]
    if tail:
        out.append(tail)
    return out


def _text_lines(f: IO[bytes], wrapper: io.TextIOWrapper, state: _LineState, path: Path
                ) -> Iterator[str]:
    """Lines of a file in an encoding that is not ASCII-compatible (UTF-16, UTF-32)."""
    encoding = wrapper.encoding
    try:
        for line in wrapper:
            state.count += 1
            state.offset = f.tell() if f.seekable() else state.offset
            yield line
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not valid {encoding} after line {state.count}: {exc.reason}", where=str(path),
            hint='set encoding under [source] to the file\'s real encoding, e.g. "utf-8" or '
            '"latin-1"') from None


def _encoding_reason(encoding: str, state: _LineState) -> tuple[str, str]:
    line, offset, byte = state.last_bad
    value = f"byte 0x{byte:02X} at byte offset {offset}"
    reason = (f"line {line} is not valid {encoding} ({value}); if the file is not "
              f"{encoding}, set encoding = \"latin-1\" (or its real encoding) under [source]")
    return value, reason


class _Record(NamedTuple):
    """One CSV record: where it starts and ends, its fields, what is wrong with it."""

    begin: int  # line where the record starts
    end: int  # line where it ends (> begin when a quoted field spans lines)
    offset: int  # byte offset of its first line
    fields: list[str] | None  # None: the csv module could not parse it
    encoding: tuple[str, str, str] | None = None  # (value, code, reason) if bytes were bad
    unclosed: bool = False  # the last record, still inside quotes at the end of the file


def _records(reader: Iterator[list[str]], state: _LineState, encoding: str
             ) -> Iterator[_Record]:
    """Non-blank records of ``reader`` with their line span and encoding problem."""
    while True:
        begin, offset, bad_before = state.count + 1, state.offset, state.bad
        try:
            fields: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None
        if fields is not None and not (len(fields) > 1 or (fields and fields[0].strip())):
            continue  # a blank line
        problem = None
        if state.bad > bad_before:
            value, reason = _encoding_reason(encoding, state)
            problem = (value, "bad_encoding", reason)
        yield _Record(begin, state.count, offset, fields, problem)


def read_csv(path: Path, opts: SourceOptions, needed: Mapping[str, str], chunk_rows: int
             ) -> Iterator[RawChunk]:
    """Yield chunks of at most ``chunk_rows`` records of a delimited text file.

    A record with a different number of fields than the header becomes a ``bad_field_count``
    reject; a record with bytes that are not valid in ``opts.encoding`` a ``bad_encoding``
    reject (the rest of the file still loads). A header that cannot be decoded refuses the file.
    """
    _refuse_empty(path)
    delimiter = opts.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    nulls = frozenset(opts.null_values)
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(path.open("rb"))
        state = _LineState()
        ascii_ok = _ascii_compatible(opts.encoding)
        if ascii_ok:
            lines = _decoded_lines(f, opts.encoding, state)
        else:
            wrapper = io.TextIOWrapper(f, encoding=opts.encoding, newline="")
            stack.callback(wrapper.detach)  # release f without closing it twice
            lines = _text_lines(f, wrapper, state, path)
        for _ in range(max(opts.header_row - 1, 0)):
            if next(lines, None) is None:
                raise SourceError(f"the file has fewer than {opts.header_row} lines, so no "
                                  f"header at line {opts.header_row}", where=str(path),
                                  hint="check header_row under [source]")
        reader = csv.reader(
            lines, delimiter=delimiter, quotechar=opts.quote or '"', doublequote=True,
            quoting=csv.QUOTE_MINIMAL if opts.quote else csv.QUOTE_NONE, strict=False)
        pending: list[_Record] = []  # a first data record, read to size the columns
        if opts.header_row > 0:
            start, bad_before = state.count + 1, state.bad  # title lines may be in any bytes
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise SourceError(f"cannot read the header line: {exc}",
                                  where=f"{path}:{start}") from None
            if header is None or not any(h.strip() for h in header):
                raise SourceError(f"no header at line {start}: the line is blank or missing",
                                  where=str(path),
                                  hint="set header_row under [source] to the line holding the "
                                  "column names (0 if the file has none)")
            if state.bad > bad_before:
                value, _ = _encoding_reason(opts.encoding, state)
                raise SourceError(f"the header is not valid {opts.encoding} ({value})",
                                  where=str(path),
                                  hint='set encoding = "latin-1" (or the file\'s real encoding) '
                                  "under [source] in the mapping")
            names = [h.strip() for h in header]
        else:
            first = next(_records(reader, state, opts.encoding), None)
            if first is not None:
                pending.append(first)
            width = len(first.fields) if first is not None and first.fields else 0
            names = [str(i) for i in range(1, width + 1)]
        positions = _check_header(path, names, needed)
        width = len(names)
        to_skip = opts.skip_rows
        yielded = False
        quote = opts.quote.encode(opts.encoding) if opts.quote and ascii_ok else None

        def records() -> Iterator[_Record]:
            """Records with one of lookahead, to check the last one for an unclosed quote."""
            previous: _Record | None = None
            for rec in itertools.chain(pending, _records(reader, state, opts.encoding)):
                if previous is not None:
                    yield previous
                previous = rec
            if previous is not None:
                if quote is not None and previous.end > previous.begin and \
                        previous.fields is not None:
                    f.seek(previous.offset)
                    blocks = iter(lambda: f.read(1 << 20), b"")
                    if sum(block.count(quote) for block in blocks) % 2:
                        previous = previous._replace(unclosed=True)
                yield previous

        rows: list[list[str]] = []
        starts: list[int] = []
        bad: list[tuple[int, str | None, str, str]] = []
        count = 0
        for rec in records():
            if to_skip:
                to_skip -= 1
                continue
            count += 1
            if rec.fields is None:
                bad.append((rec.begin, None, "bad_record",
                            "the record cannot be parsed as CSV (a field over 128 KiB, "
                            "maybe after a quote left open)"))
            elif rec.encoding is not None:
                bad.append((rec.begin, *rec.encoding))
            elif rec.unclosed:
                bad.append((rec.begin, delimiter.join(rec.fields)[:_VALUE_CHARS], "bad_record",
                            f"a quote opened in this record is never closed, so lines "
                            f"{rec.begin}-{rec.end} were read as one record; close the quote "
                            "or remove it and load the file again"))
            elif len(rec.fields) != width:
                span = "" if rec.end <= rec.begin else \
                    f" (the record runs to line {rec.end}: is a quote left open?)"
                bad.append((rec.begin, delimiter.join(rec.fields)[:_VALUE_CHARS],
                            "bad_field_count",
                            f"{len(rec.fields)} fields where the header has {width}{span}"))
            else:
                rows.append(rec.fields)
                starts.append(rec.begin)
            if count >= chunk_rows:
                yield _csv_chunk(rows, starts, bad, count, positions, nulls, state.offset)
                yielded = True
                rows, starts, bad, count = [], [], [], 0
        if count or not yielded:
            yield _csv_chunk(rows, starts, bad, count, positions, nulls, state.offset)


def _csv_chunk(rows: list[list[str]], starts: list[int],
               bad: list[tuple[int, str | None, str, str]], count: int,
               positions: Mapping[str, int], nulls: frozenset[str], done: int) -> RawChunk:
    frame = pd.DataFrame({name: _clean_column(rows, i, nulls)
                          for name, i in positions.items()}, index=pd.RangeIndex(len(rows)))
    return RawChunk(frame=frame, lines=np.asarray(starts, dtype="int64"),
                    rejects=_reject_frame(bad), records=count, bytes_done=done)


# ----------------------------------------------------------------------------- Parquet


def read_parquet(path: Path, opts: SourceOptions, needed: Mapping[str, str], chunk_rows: int
                 ) -> Iterator[RawChunk]:
    """Yield chunks of a Parquet file; values keep their Parquet types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = _refuse_empty(path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"not a readable Parquet file: {exc}", where=str(path),
                          hint="check the file, or use the csv/xlsx source for other formats"
                          ) from None
    names = list(pf.schema_arrow.names)
    _check_header(path, names, needed)
    total = max(pf.metadata.num_rows, 1)
    line = 0
    yielded = False
    mapper = {pa.int8(): pd.Int64Dtype(), pa.int16(): pd.Int64Dtype(),
              pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype(),
              pa.uint8(): pd.Int64Dtype(), pa.uint16(): pd.Int64Dtype(),
              pa.uint32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    nulls = frozenset(opts.null_values)
    columns = list(needed)
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns or None):
        n = batch.num_rows
        frame = pd.DataFrame(index=pd.RangeIndex(n))
        for name in columns:
            s = batch.column(batch.schema.get_field_index(name)).to_pandas(types_mapper=mapper)
            if s.dtype == object:  # text: trimmed, null markers blanked, as for CSV
                s = s.map(lambda v: _cell(v, nulls) if isinstance(v, str) else v)
            frame[name] = s.to_numpy() if s.dtype == object else s
        lines = np.arange(line + 1, line + n + 1, dtype="int64")
        line += n
        yielded = True
        yield RawChunk(frame=frame, lines=lines, records=n,
                       bytes_done=int(size * min(line / total, 1.0)))
    if not yielded:
        yield RawChunk(frame=pd.DataFrame({c: pd.Series(dtype=object) for c in columns}),
                       lines=np.zeros(0, dtype="int64"), bytes_done=size)


# ----------------------------------------------------------------------------- XLSX


def _cell(v: Any, nulls: frozenset[str]) -> Any:
    """A cell value: text trimmed (None if blank or a null marker), whole floats as ints."""
    if isinstance(v, str):
        v = v.strip()
        return None if not v or v in nulls else v
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def read_xlsx(path: Path, opts: SourceOptions, needed: Mapping[str, str], chunk_rows: int
              ) -> Iterator[RawChunk]:
    """Yield chunks of one sheet of an XLSX workbook (openpyxl, read-only mode).

    Cells keep their Excel types (numbers, dates, times, text); whole numbers become ints so
    an id typed as 1234 is not read as "1234.0". Cells right of the header are ignored.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    size = _refuse_empty(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"not a readable XLSX workbook: {exc}", where=str(path),
                          hint="save it as .xlsx (Excel 2007+), or export CSV") from None
    try:
        yield from _read_sheet(path, wb, opts, needed, chunk_rows, size)
    finally:
        wb.close()


def _read_sheet(path: Path, wb: Any, opts: SourceOptions, needed: Mapping[str, str],
                chunk_rows: int, size: int) -> Iterator[RawChunk]:
    sheets = wb.sheetnames
    if opts.sheet is None:
        ws = wb.worksheets[0]
    elif isinstance(opts.sheet, int):
        if opts.sheet > len(sheets):
            raise SourceError(f"the workbook has {len(sheets)} sheet(s), not {opts.sheet}",
                              where=str(path), hint="sheets: " + ", ".join(sheets))
        ws = wb.worksheets[opts.sheet - 1]
    elif opts.sheet in sheets:
        ws = wb[opts.sheet]
    else:
        raise SourceError(f"no sheet {opts.sheet!r}", where=str(path),
                          hint="sheets: " + ", ".join(repr(s) for s in sheets))
    total_rows = ws.max_row or 0
    sheet_rows = ws.iter_rows(min_row=1, values_only=True)
    try:
        yield from _sheet_chunks(path, ws.title, sheet_rows, opts, needed, chunk_rows, size,
                                 total_rows)
    finally:
        sheet_rows.close()  # closes the sheet's XML stream inside the workbook archive


def _sheet_chunks(path: Path, title: str, sheet_rows: Iterator[tuple[Any, ...]],
                  opts: SourceOptions, needed: Mapping[str, str], chunk_rows: int, size: int,
                  total_rows: int) -> Iterator[RawChunk]:
    where = f"{path}[{title}]"
    nulls = frozenset(opts.null_values)
    rows_iter = enumerate(sheet_rows, start=1)
    names: list[str]
    first: list[tuple[int, tuple[Any, ...]]] = []
    if opts.header_row > 0:
        header: tuple[Any, ...] | None = None
        for number, row in rows_iter:
            if number == opts.header_row:
                header = row
                break
        if header is None or all(v is None or str(v).strip() == "" for v in header):
            raise SourceError(f"no header in row {opts.header_row}: the row is blank or "
                              "missing", where=where,
                              hint="set header_row (and sheet) under [source]")
        names = [
            (v.isoformat() if isinstance(v, datetime) else str(_cell(v, frozenset())))
            if v is not None else "" for v in header]
        while names and names[-1] == "":
            names.pop()
    else:
        for number, row in rows_iter:
            if any(_cell(v, nulls) is not None for v in row):
                first.append((number, row))
                break
        width = max((i + 1 for i, v in enumerate(first[0][1]) if v is not None), default=0) \
            if first else 0
        names = [str(i) for i in range(1, width + 1)]
    positions = _check_header(Path(where), names, needed)
    to_skip = opts.skip_rows
    columns: dict[str, list[Any]] = {c: [] for c in positions}
    lines: list[int] = []
    yielded = False

    def all_rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        yield from first
        yield from rows_iter

    last = 0
    for number, row in all_rows():
        last = number
        cells = [_cell(v, nulls) for v in row[: len(names)]]
        if all(v is None for v in cells):
            continue  # a blank row is not a record
        if to_skip:
            to_skip -= 1
            continue
        cells += [None] * (len(names) - len(cells))
        for name, i in positions.items():
            columns[name].append(cells[i])
        lines.append(number)
        if len(lines) >= chunk_rows:
            yield _xlsx_chunk(columns, lines, size, last, total_rows)
            yielded = True
            columns = {c: [] for c in positions}
            lines = []
    if lines or not yielded:
        yield _xlsx_chunk(columns, lines, size, last, total_rows, final=True)


def _xlsx_chunk(columns: dict[str, list[Any]], lines: list[int], size: int, row: int,
                total_rows: int, final: bool = False) -> RawChunk:
    frame = pd.DataFrame({c: pd.Series(v, dtype="object") for c, v in columns.items()},
                         index=pd.RangeIndex(len(lines)))
    done = size if final or not total_rows else int(size * min(row / total_rows, 1.0))
    return RawChunk(frame=frame, lines=np.asarray(lines, dtype="int64"), records=len(lines),
                    bytes_done=done)


READERS: dict[str, Reader] = {"csv": read_csv, "parquet": read_parquet, "xlsx": read_xlsx}
