"""``--follow``: a live queue_log is appended to, rotated and truncated while it is followed.

The follower runs in a thread; the test writes the file and waits (with a generous timeout,
never a timing assertion) until the follower reports a load. The warehouse is only read in
the follower's callback or after it stopped (one DuckDB connection, one thread at a time).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from contactkpi.config import Tenant
from contactkpi.errors import InternalError, SourceError, UserError
from contactkpi.sources.asterisk import AsteriskQueueLogSource, pending_calls
from contactkpi.sources.follow import FollowStats, follow, follow_cli
from contactkpi.store import Warehouse, load


class Follower:
    """``follow`` in a thread, with a log of what each load brought."""

    def __init__(self, path: Path, wh: Warehouse, **kw: object) -> None:
        self.wh = wh
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.loads: list[tuple[int, int, int]] = []  # lines read, rejected, contacts so far
        self.stats: FollowStats | None = None
        self.thread = threading.Thread(target=self._run, args=(path,), kwargs=kw)

    def _run(self, path: Path, **kw: object) -> None:
        self.stats = follow(path, self.wh, Tenant("live"), load=load, stop=self.stop,
                            poll_s=0.02, on_load=self._seen, **kw)

    def _seen(self, result: object, stats: FollowStats) -> None:
        n = self.wh.table("contacts", "live").count().execute()
        with self.cond:
            self.loads.append((result.rows_read, result.rows_rejected, int(n)))
            self.cond.notify_all()

    def wait_loads(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.loads) >= n, timeout=30), self.loads

    def wait_contacts(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: bool(self.loads) and self.loads[-1][2] >= n,
                                      timeout=30), self.loads

    def __enter__(self) -> Follower:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)
        f.flush()


def test_follow_through_appends_partial_lines_rotation_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    wh = Warehouse.memory()
    with Follower(path, wh) as fol:  # the file does not exist yet: following waits
        append(path, "1700000000|c1|q|NONE|ENTERQUEUE||555|1\n"
                     "1700000003|c1|q|PJSIP/a|CONNECT|3|m1|1\n"
                     "1700000004|c2|q|NONE|ENTERQ")  # Asterisk is still writing this one
        fol.wait_loads(1)
        append(path, "UEUE||556|2\n1700000060|c1|q|PJSIP/a|COMPLETEAGENT|3|57|1\n")
        fol.wait_contacts(1)
        # logrotate: the old file is moved away and gets one more line, then a cut one
        os.rename(path, tmp_path / "queue_log.1")
        append(tmp_path / "queue_log.1", "1700000070|c2|q|NONE|ABANDON|1|2|66\n"
                                        "1700000071|c3|q|NONE|ENTERQU")
        append(path, "1700000080|c4|q|NONE|ENTERQUEUE||558|1\n"
                     "1700000090|c4|q|NONE|EXITWITHTIMEOUT|1|1|10\n")
        fol.wait_contacts(3)
        # copytruncate: the file is emptied in place and written again
        with path.open("w") as f:
            f.write("1700000100|c5|q|NONE|ENTERQUEUE||559|1\n")
        append(path, "1700000101|c5|q|NONE|ABANDON|1|1|1\n")
        fol.wait_contacts(4)
    stats = fol.stats
    assert stats is not None and stats.rotations == 1 and stats.truncations == 1
    assert all(rejected == 0 for _, rejected, _ in fol.loads[:-4])
    contacts = wh.table("contacts", "live").execute().set_index("contact_id")
    assert contacts.outcome.sort_index().to_dict() == {
        "c1": "answered", "c2": "abandoned", "c4": "timeout", "c5": "abandoned"}
    assert (contacts.loc["c1", "wait_s"], contacts.loc["c1", "talk_s"]) == (3, 57)
    rejects = wh.table("rejects").execute()
    # only the line that stayed cut when its file was rotated away is a reject
    assert rejects[["line", "reason_code", "value"]].values.tolist() == [
        [6, "truncated_line", "1700000071|c3|q|NONE|ENTERQU"]]
    assert len(pending_calls(wh, "live")) == 0


def test_a_restart_resumes_after_the_last_loaded_line(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("1700000000|c1|q|NONE|ENTERQUEUE||555|1\n")
    wh = Warehouse.memory()
    with Follower(path, wh) as fol:
        fol.wait_loads(1)
    assert fol.stats.lines == 1
    append(path, "1700000009|c1|q|NONE|ABANDON|1|1|9\n1700000010|c2|q|NONE|ENTERQUEUE||5|1\n")
    with Follower(path, wh) as again:
        again.wait_contacts(1)
    assert again.stats.lines == 2  # the first line was not read again
    assert wh.table("contacts", "live").execute().contact_id.tolist() == ["c1"]
    assert pending_calls(wh, "live").callid.tolist() == ["c2"]


def test_ctrl_c_stops_cleanly_after_a_committed_load(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("1700000000|c1|q|NONE|ENTERQUEUE||555|1\n"
                    "1700000009|c1|q|NONE|ABANDON|1|1|9\n")
    wh = Warehouse.memory()

    def interrupt(result: object, stats: FollowStats) -> None:
        raise KeyboardInterrupt

    stats = follow(path, wh, Tenant("live"), load=load, on_load=interrupt, poll_s=0.01,
                   max_seconds=30)
    assert stats.loads == 1
    assert wh.table("contacts", "live").count().execute() == 1


def test_a_bounded_run_ends_by_itself(tmp_path: Path) -> None:
    stats = follow(tmp_path / "never_written", Warehouse.memory(), Tenant("live"), load=load,
                   poll_s=0.01, max_seconds=0.2)
    assert stats.loads == 0


def test_follow_cli_checks_its_arguments(tmp_path: Path) -> None:
    wh = Warehouse.memory()
    src = AsteriskQueueLogSource()
    with pytest.raises(UserError):
        follow_cli(src, [tmp_path / "a", tmp_path / "b"], wh, Tenant("t"), None, load=load)
    with pytest.raises(InternalError):
        follow_cli(src, [tmp_path / "a"], wh, Tenant("t"), None)

    class Csv:
        kind = "csv"

    with pytest.raises(SourceError):
        follow_cli(Csv(), [tmp_path / "a"], wh, Tenant("t"), None, load=load)
