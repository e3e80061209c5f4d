"""The CLI as a newcomer meets it: `--help`, finding a trace by the start of its id, tables that
fit a terminal, a prune that asks first, and errors that say where to go next. The real
`agentoscope` runs (in-process through main(), or as a process on a real pseudo-terminal) over a
real store written by the tracing core (tests/support/dashboard_data.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agentoscope.cli.main import build_parser, main
from support.dashboard_data import (
    ERROR_MESSAGE,
    ERROR_TYPE,
    KNOWN_TRACE_ID,
    KNOWN_WORKFLOW,
    TRACE_COUNT,
    build_dashboard_store,
)
from support.store_spans import store_rows
from support.terminal import AGENTOSCOPE, agentoscope_env, run_in_terminal

KNOWN_HEX = KNOWN_TRACE_ID.removeprefix("trace_")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "traces.duckdb"
    build_dashboard_store(path)
    return path


@pytest.fixture
def store_copy(store_path: Path, tmp_path: Path) -> Path:
    """A store of its own for a test that deletes."""
    return Path(shutil.copy(store_path, tmp_path / "traces.duckdb"))


def agentoscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command as a script or CI job runs it: no terminal, nothing typed."""
    return subprocess.run(
        [str(AGENTOSCOPE), *args],
        cwd=cwd,
        env=agentoscope_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_command_has_a_description_in_help(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    overview = capsys.readouterr().out
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"sql", "traces", "show", "ingest", "export", "prune", "serve", "demo"} <= set(commands)
    for name, command in commands.items():
        assert command.description, f"`agentoscope {name}` has no description"
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert " ".join(command.description.split()) in text, name
        assert name in overview


@pytest.mark.parametrize("start", [KNOWN_HEX[:8], KNOWN_TRACE_ID[:10], KNOWN_HEX])
def test_show_takes_any_start_of_the_id_with_or_without_trace_(
    store_path: Path, start: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["show", start, "--store", str(store_path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"●  {KNOWN_WORKFLOW}  {KNOWN_TRACE_ID}  4.90 s  10 spans")


def test_an_ambiguous_start_lists_the_newest_matches_and_their_count(store_path: Path) -> None:
    done = agentoscope("show", "trace_", "--store", str(store_path))
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"agentoscope show: 'trace_' starts {TRACE_COUNT} trace ids; give more of the id "
        "(the newest 5 of them):"
    )
    listed = [line.split()[0] for line in lines[1:]]
    assert len(listed) == 5 and all(trace_id.startswith("trace_") for trace_id in listed)
    assert KNOWN_TRACE_ID not in listed  # the oldest trace of the store
    assert sum(line.endswith("Research") for line in lines) == 4  # the running batch is newer

    missing = agentoscope("show", "ffff0000", "--store", str(store_path))
    assert missing.returncode == 1
    assert "no trace id starts with 'ffff0000'" in missing.stderr
    assert "agentoscope traces" in missing.stderr


def test_show_at_80_columns_folds_between_phrases(store_path: Path) -> None:
    shown = run_in_terminal(["show", KNOWN_HEX[:6], "--store", str(store_path)], columns=80)
    assert shown.returncode == 0, shown.text
    lines = shown.lines
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    # The header does not fit: it goes on under the name, a phrase never split.
    assert lines[0].startswith(f"●  {KNOWN_WORKFLOW}  {KNOWN_TRACE_ID}")
    assert any(line.strip().startswith("6,050 tok") or "  6,050 tok" in line for line in lines[:2])
    # The error reads whole, its continuation kept under the failing span.
    failing = next(i for i, line in enumerate(lines) if f"✗ {ERROR_TYPE}:" in line)
    words = " ".join(line.strip("│ ") for line in lines[failing : failing + 3])
    assert f"{ERROR_TYPE}: {ERROR_MESSAGE}" in " ".join(words.split())


def test_traces_is_a_table_that_keeps_whole_ids(store_path: Path) -> None:
    piped = agentoscope("traces", "--store", str(store_path))
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert lines[0].split()[:4] == ["started", "(UTC)", "trace_id", "workflow"]
    assert set(lines[1].strip()) == {"─"}  # rich's header rule
    known = next(line for line in lines if KNOWN_TRACE_ID in line)  # one row, one line
    assert known.split()[2:5] == [KNOWN_TRACE_ID, "Customer", "support"]
    assert lines[-1] == f"({TRACE_COUNT} rows)"

    wide = run_in_terminal(["traces", "--store", str(store_path)], columns=150)
    assert wide.returncode == 0, wide.text
    assert all(len(line) <= 150 for line in wide.lines)
    assert any(KNOWN_TRACE_ID in line and "Customer support" in line for line in wide.lines)
    # Too narrow for the table: rows stay whole (the terminal wraps them), ids never cut.
    narrow = run_in_terminal(["traces", "--store", str(store_path)], columns=80)
    assert narrow.returncode == 0, narrow.text
    assert any(KNOWN_TRACE_ID in line and "Customer support" in line for line in narrow.lines)
    assert len(narrow.lines) == len(lines)


def test_prune_asks_first_and_refuses_without_a_terminal(store_copy: Path) -> None:
    def traces() -> int:
        return int(store_rows(store_copy, "SELECT count(*) AS n FROM traces")[0]["n"])

    before = ["prune", "--before", "1d", "--store", str(store_copy)]  # every trace is newer
    nothing = agentoscope(*before)
    assert nothing.returncode == 0 and "nothing to delete" in nothing.stdout

    everything = ["prune", "--before", "2999-01-01", "--store", str(store_copy)]
    script = agentoscope(*everything)
    assert script.returncode == 1 and script.stdout == ""
    assert "stdin is not a terminal" in script.stderr and "--yes" in script.stderr
    assert traces() == TRACE_COUNT

    declined = run_in_terminal(everything, typed="n\n")
    assert declined.returncode == 1
    assert f"Delete {TRACE_COUNT} traces and" in declined.text and "[y/N]" in declined.text
    assert "kept everything" in declined.text
    assert traces() == TRACE_COUNT

    dry = agentoscope(*everything, "--dry-run")
    assert dry.returncode == 0 and f"would delete {TRACE_COUNT} traces" in dry.stdout

    accepted = run_in_terminal(everything, typed="y\n")
    assert accepted.returncode == 0, accepted.text
    assert f"deleted {TRACE_COUNT} traces" in accepted.text
    assert traces() == 0


def test_prune_yes_deletes_without_asking(store_copy: Path) -> None:
    done = agentoscope("prune", "--before", "2999-01-01", "--yes", "--store", str(store_copy))
    assert done.returncode == 0, done.stderr
    assert f"deleted {TRACE_COUNT} traces" in done.stdout


def test_no_store_points_at_the_demo_and_the_path_it_looked_for(tmp_path: Path) -> None:
    for command in (["traces"], ["show", "abc"], ["sql", "SELECT 1"], ["export", "out"]):
        done = agentoscope(*command, cwd=tmp_path)
        assert done.returncode == 1, command
        looked = tmp_path / ".agentoscope" / "traces.duckdb"
        assert f"no store at {looked}." in done.stderr, command
        assert "`agentoscope demo`" in done.stderr, command
        assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / ".agentoscope").exists()


def test_sql_on_an_unknown_table_names_ours(
    store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["sql", "SELECT * FROM nosuch", "--store", str(store_path)]) == 1
    err = capsys.readouterr().err
    assert "pg_sequences" not in err
    assert err.startswith("agentoscope sql: the store has no table or view 'nosuch'.")
    assert "Tables: " in err and "spans" in err and "traces" in err
    for view in ("agent_runs", "generations", "tool_calls", "handoffs", "guardrails"):
        assert view in err
    assert main(["sql", "SELECT * FROM span", "--store", str(store_path)]) == 1
    assert 'Did you mean "spans"?' in capsys.readouterr().err


def test_unknown_table_and_id_starts_through_agentoscope_serve(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from agentoscope.tracing.serve.service import StoreService

    served = Path(shutil.copy(store_path, tmp_path / "served.duckdb"))
    service = StoreService(served, http_port=0, grpc_port=None).start()
    try:
        server = ["--server", service.http_url]
        assert main(["sql", "SELECT * FROM nosuch", *server]) == 1
        err = capsys.readouterr().err
        assert "no table or view 'nosuch'" in err and "tool_calls" in err
        assert "pg_sequences" not in err
        assert main(["show", KNOWN_HEX[:8], *server]) == 0
        assert capsys.readouterr().out.startswith(f"●  {KNOWN_WORKFLOW}  {KNOWN_TRACE_ID}")
        assert main(["show", "trace_", *server]) == 1
        assert f"starts {TRACE_COUNT} trace ids" in capsys.readouterr().err
    finally:
        service.stop()


def test_a_reader_that_leaves_early_gets_no_traceback(store_path: Path) -> None:
    """`agentoscope show … | head -1`: the pipe closes before the tree is written. (Tables go
    through rich, which ends quietly with status 1 the same way.)"""
    for command in (["show", KNOWN_HEX[:8]], ["traces"]):
        process = subprocess.Popen(
            [str(AGENTOSCOPE), *command, "--store", str(store_path)],
            env=agentoscope_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before the command has even started
        stderr = process.stderr.read()
        assert process.wait(timeout=60) in (1, 141), command
        assert stderr == "", command
