"""`patchworks-mock check` as a user meets it: its options, exit codes and one-line errors."""

from __future__ import annotations

import argparse
import re
import socket

import pytest

from patchworks_mock.app import create_app
from patchworks_mock.contract import transport
from patchworks_mock.contract.command import register
from patchworks_mock.faults import FaultSettings
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import serving


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch) -> None:
    """Retries as in a real run, without the real run's pauses between them."""
    monkeypatch.setattr(transport, "BACKOFF", 0.001)


def _main(argv: list[str]) -> int:
    root = argparse.ArgumentParser(prog="patchworks-mock")
    register(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(argv)
    return args.handler(args)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", f"http://127.0.0.1:{_closed_port()}", "--api-key", "k"], "cannot reach"),
        (["--url", "127.0.0.1:8000", "--api-key", "k"], "--url must be an http(s) URL"),
        (["--url", "http://127.0.0.1:9"], "--url needs --api-key"),
    ],
)
def test_unusable_targets_are_one_line_and_exit_2(argv, message, capsys, monkeypatch) -> None:
    monkeypatch.delenv("PATCHWORKS_API_KEY", raising=False)
    assert _main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_refused_key_is_one_line_and_exit_2(capsys) -> None:
    with serving(create_app()) as url:
        code = _main(["check", "--url", url, "--api-key", "wrong"])
    err = capsys.readouterr().err
    assert code == 2
    assert "refused the API key (401)" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_options_are_usage_errors(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _main(["check", "--max-examples", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_a_run_shows_progress_seed_table_and_verdict(capsys) -> None:
    code = _main(["check", "--profile", "quick", "--seed", "5", "--suites", "properties,stateful"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "seed 5 (rerun with --seed 5)" in out
    assert "pagination" in out
    assert re.search(r"^CONFORMS", out, re.MULTILINE)


def test_a_flaky_server_by_url_conforms_unless_fail_on_flaky(capsys) -> None:
    argv = ["--suites", "properties", "--profile", "quick", "--seed", "3", "--max-examples", "2"]
    argv += ["--api-key"]
    argv += [DEVELOPMENT_KEY]
    results = []
    for extra in ([], ["--fail-on-flaky"]):
        app = create_app(faults=FaultSettings(error_rate=0.1, seed=3))
        with serving(app) as url:
            results.append(_main(["check", "--url", url, *argv, *extra]))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        assert re.search(r"^(CONFORMS|DOES NOT CONFORM)", captured.out, re.MULTILINE)
    assert results == [0, 1]


@pytest.mark.parametrize("seed", ["x", "-1", "4294967296"])
def test_a_bad_seed_says_what_a_seed_is(seed, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _main(["check", "--seed", seed])
    assert exit_info.value.code == 2
    assert "must be a whole number between 0 and 4294967295" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "path", "says"),
    [
        ("--junit-xml", "/nonexistent-folder/report.xml", "no such folder"),
        ("--report", ".", "is a folder"),
    ],
)
def test_a_report_that_cannot_be_written_is_said_before_the_run(flag, path, says, capsys) -> None:
    assert _main(["check", flag, path]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
