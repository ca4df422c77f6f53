"""`patchworks-mock fixtures validate|generate`: exit codes, messages, determinism."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys

import pytest

from patchworks_mock import bundled, fixtures
from patchworks_mock.documents import commands
from patchworks_mock.fixtures import generate
from tests.support import one_error_line

SMALL = ["--seed", "42", "--users", "3", "--flows", "5", "--packages", "12"]


def run(*argv: str) -> int:
    """The `fixtures` command as `patchworks-mock` runs it."""
    root = argparse.ArgumentParser(prog="patchworks-mock")
    commands.register(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["fixtures", *argv])
    return args.handler(args)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- validate ---------------------------------------------------------------------------------


def test_validate_accepts_the_bundled_fixtures(capsys):
    assert run("validate", str(bundled.DEFAULT_FIXTURES)) == 0
    assert "valid (3 users" in capsys.readouterr().out


def test_validate_lists_every_problem_with_file_and_json_path(tmp_path, capsys):
    document = fixtures.read(bundled.DEFAULT_FIXTURES)
    document["packages"][0]["name"] = 7
    document["users"][1]["email"] = None
    del document["flows"][2]["created_at"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    assert run("validate", str(bundled.DEFAULT_FIXTURES), str(bad)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        f"{bad}: $.flows[2]: 'created_at' is a required property",
        f"{bad}: $.packages[0].name: 7 is not of type 'string'",
        f"{bad}: $.users[1].email: None is not of type 'string'",
    ]


def test_validate_lists_every_broken_reference(tmp_path, capsys):
    document = fixtures.read(bundled.DEFAULT_FIXTURES)
    document["flow_versions"][0]["flow_id"] = 99
    document["packages"][1]["created_by_id"] = 98
    bad = tmp_path / "refs.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    assert run("validate", str(bad)) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{bad}: $.flow_versions[0].flow_id: no record with id 99 in flows",
        f"{bad}: $.packages[1].created_by_id: no record with id 98 in users",
    ]


def test_validate_reports_malformed_json_as_a_problem_with_its_place(tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text('{"users": [\n  {"id": 1,}\n]}', encoding="utf-8")
    assert run("validate", str(bad)) == 1
    assert capsys.readouterr().out.startswith(f"{bad}: line 2 column 12: not valid JSON")


def test_validate_reports_a_document_nested_too_deeply_to_read(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert run("validate", str(deep)) == 1
    assert capsys.readouterr().out.startswith(f"{deep}: $: nested too deeply to read")


def test_validate_shortens_a_message_that_quotes_a_large_value(tmp_path, capsys):
    bad = tmp_path / "large.json"
    bad.write_text(json.dumps({"users": [["x" * 1000]]}), encoding="utf-8")
    assert run("validate", str(bad)) == 1
    quoted = [line for line in capsys.readouterr().out.splitlines() if "$.users[0]:" in line]
    assert quoted and all(len(line) < 300 and line.endswith("…") for line in quoted)


def test_validate_refuses_an_unreadable_file_in_one_line(tmp_path, capsys):
    assert run("validate", str(tmp_path / "missing.json")) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "missing.json: cannot read the file" in line


# -- generate ---------------------------------------------------------------------------------


def test_generate_writes_the_same_bytes_as_the_python_api(tmp_path, capsys):
    target = tmp_path / "out.json"
    assert run("generate", *SMALL, "-o", str(target)) == 0
    assert "wrote" in capsys.readouterr().err
    expected = fixtures.to_json(generate(42, users=3, flows=5, packages=12))
    assert target.read_bytes() == expected.encode("utf-8")
    assert run("validate", str(target)) == 0


def test_generate_writes_to_standard_output_by_default(capfdbinary):
    assert run("generate", *SMALL) == 0
    written = capfdbinary.readouterr().out
    assert json.loads(written) == generate(42, users=3, flows=5, packages=12)


def test_different_seeds_give_different_documents():
    assert generate(1) != generate(2)


def test_generate_is_identical_across_processes_hash_seeds_and_locales(tmp_path):
    """Nothing may depend on hash order, the locale, the time zone or the clock."""
    script = (
        "import argparse, sys\n"
        "from patchworks_mock.documents import commands\n"
        "root = argparse.ArgumentParser(prog='patchworks-mock')\n"
        "commands.register(root.add_subparsers(dest='command'))\n"
        "args = root.parse_args(sys.argv[1:])\n"
        "sys.exit(args.handler(args))\n"
    )
    outputs = []
    for hash_seed, locale, zone in (("1", "C", "UTC"), ("4242", "C.UTF-8", "Asia/Kolkata")):
        target = tmp_path / f"{hash_seed}.json"
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed, "LC_ALL": locale, "TZ": zone}
        subprocess.run(
            [sys.executable, "-c", script, "fixtures", "generate", *SMALL, "-o", str(target)],
            env=environment,
            check=True,
            capture_output=True,
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == fixtures.to_json(generate(42, users=3, flows=5, packages=12)).encode()


def test_generated_data_looks_like_an_integration_platform():
    document = generate(3, users=20, flows=30, packages=30)
    assert all(" to " in flow["name"] for flow in document["flows"])
    emails = [user["email"] for user in document["users"]]
    assert len(set(emails)) == len(emails)
    assert all(email.endswith("@example.com") for email in emails)
    assert {e["type"] for e in document["virtual_environments"]} == {"test", "live"}
    assert any(p["notes"] for p in document["packages"])
    assert any(p["notes"] is None for p in document["packages"])


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--packages", "-1", "--packages must be an integer of at least 0, not -1"),
        ("--users", "-5", "--users must be an integer of at least 0, not -5"),
        ("--versions-per-flow", "0", "--versions-per-flow must be an integer of at least 1"),
        ("--deployed-ratio", "1.5", "--deployed-ratio must be between 0 and 1, not 1.5"),
        ("--deployed-ratio", "nan", "--deployed-ratio must be between 0 and 1, not nan"),
    ],
)
def test_generate_refuses_bad_sizes_in_one_line(capsys, flag, value, reason):
    assert run("generate", "--seed", "1", flag, value) == 2
    assert reason in one_error_line(capsys.readouterr().err)


def test_generate_refuses_an_unwritable_output_in_one_line(tmp_path, capsys):
    assert run("generate", "--seed", "1", "-o", str(tmp_path / "no" / "such" / "dir.json")) == 2
    assert "cannot write" in one_error_line(capsys.readouterr().err)


def test_python_api_refuses_bad_sizes():
    with pytest.raises(ValueError, match="flows must be an integer of at least 0"):
        generate(1, flows=-1)


def test_progress_shows_only_on_a_terminal(tmp_path, monkeypatch):
    target = str(tmp_path / "out.json")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert run("generate", *SMALL, "-o", target) == 0
    assert "\rpackages: 12/12" in terminal.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert run("generate", *SMALL, "-o", target) == 0
    assert "\r" not in pipe.getvalue()
    assert pipe.getvalue().startswith("wrote ")


def test_a_document_of_a_few_thousand_packages_is_quick_and_valid():
    document = generate(9, packages=3000, flows=50, environments=4)
    assert fixtures.problems(document) == []
    assert (
        fixtures.load(document).list_packages(
            deployed_only=False, names=None, sort="id", descending=False, page=1, per_page=5
        )[1]
        == 3000
    )
