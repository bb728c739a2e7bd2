"""The real ``contactkpi`` command, run as a user runs it, in a fresh folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BIN = Path(sys.executable).parent / "contactkpi"


def run(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTKPI_")}
    proc = subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    run(tmp_path, "init", "--tenant", "acme", "--timezone", "Europe/London")
    return tmp_path


def test_readme_tour_init_then_ingest(project: Path) -> None:
    assert (project / "contactkpi.toml").exists()
    assert (project / "contactkpi.duckdb").exists()
    data = EXAMPLES / "data" / "contacts.csv"
    mapping = EXAMPLES / "mappings" / "contacts.toml"
    first = json.loads(run(project, "ingest", "csv", str(data), "--mapping", str(mapping),
                           "--format", "json").stdout)["loads"][0]
    assert first["read"] > 0
    assert first["loaded"] > 0
    second = json.loads(run(project, "ingest", "csv", str(data), "--mapping", str(mapping),
                            "--format", "json").stdout)["loads"][0]
    assert second["loaded"] == 0
    assert second["duplicates"] + second["rejected"] == second["read"] or \
        second["duplicates"] >= first["loaded"]
    count = json.loads(run(project, "sql", "select count(*) as n from contacts",
                           "--format", "json").stdout)["rows"][0]["n"]
    assert count == first["tables"]["contacts"]["loaded"]
    loads = json.loads(run(project, "loads", "--format", "json").stdout)["loads"]
    assert len(loads) == 2


def test_bad_input_is_one_clear_line_and_exit_2(project: Path) -> None:
    cases = [
        (["ingest", "csv", "missing.csv", "--mapping", "m.toml"], "not found"),
        (["ingest", "fax", "x"], "unknown source kind"),
        (["ingest", "csv", str(EXAMPLES / "data" / "contacts.csv")], "need a mapping"),
        (["--warehouse", str(project / "nowhere.duckdb"), "loads"], "no warehouse"),
        (["sql", "delete from contacts"], "read-only"),
        (["sql", "select * from nope"], "nope"),
        (["ingest", "csv", str(EXAMPLES / "data" / "contacts.csv"), "--mapping",
          str(EXAMPLES / "mappings" / "contacts.toml"), "--tenant", "globex"],
         "unknown tenant"),
    ]
    for args, needle in cases:
        proc = run(project, *args, ok=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("error: "), (args, proc.stderr)
        assert needle in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_rejects_are_listed_with_their_reason(project: Path, tmp_path: Path) -> None:
    src = (EXAMPLES / "data" / "contacts.csv").read_text(encoding="utf-8").splitlines()
    header, good = src[0], src[1]
    cols = header.split(",")
    bad = good.split(",")
    bad[0] = "broken-1"
    # a wrong field count is the one error every delimited file can have
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([header, good, ",".join(bad[: len(cols) - 1])]) + "\n",
                      encoding="utf-8")
    run(project, "ingest", "csv", str(broken), "--mapping",
        str(EXAMPLES / "mappings" / "contacts.toml"))
    rows = json.loads(run(project, "rejects", "--format", "json").stdout)["rejects"]
    assert rows, "the short line must be rejected"
    assert {r["line"] for r in rows} == {3}
    assert all(r["reason"] for r in rows)


def test_help_everywhere(project: Path) -> None:
    for args in (["--help"], ["ingest", "--help"], ["loads", "--help"], ["rejects", "--help"],
                 ["sql", "--help"], ["init", "--help"], ["config", "show", "--help"]):
        assert "Usage" in run(project, *args).stdout
    shown = run(project, "config", "show").stdout
    assert "Europe/London" in shown
