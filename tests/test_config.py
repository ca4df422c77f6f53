"""Defaults from `patchworks-mock.toml` or `[tool.patchworks-mock]`, as a user meets them:
through `cli.main`, with the command handlers swapped for ones that keep the parsed options, so
nothing is served or checked. Every test runs in its own temporary repository."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from patchworks_mock import bundled, cli, config
from patchworks_mock.contract import command as check_command
from patchworks_mock.documents import commands as fixture_commands
from patchworks_mock.documents import export
from tests.support import one_error_line

VARIABLES = ("PATCHWORKS_API_KEY", "PATCHWORKS_MOCK_API_KEY", "STAGING_KEY", "HOST", "K1", "K2")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (a `.git` directory) inside an outer directory; the test runs in it."""
    root = tmp_path / "outer" / "repo"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The options each command's handler was called with, in order."""
    calls: list[argparse.Namespace] = []

    def keep(args: argparse.Namespace) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(cli, "serve", keep)
    monkeypatch.setattr(check_command, "check", keep)
    monkeypatch.setattr(fixture_commands, "generate_command", keep)
    monkeypatch.setattr(fixture_commands, "export_command", keep)
    return calls


def run(parsed: list[argparse.Namespace], *argv: str) -> argparse.Namespace:
    assert cli.main(list(argv)) == 0
    return parsed[-1]


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of a command line the configuration makes fail (exit 2)."""
    assert cli.main(list(argv)) == 2
    return one_error_line(capsys.readouterr().err)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# Discovery


def test_a_file_in_the_current_directory_is_read_and_named(repo, parsed, capsys) -> None:
    path = write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    assert run(parsed, "serve").port == 9001
    assert capsys.readouterr().err == f"patchworks-mock: defaults from {path}\n"


def test_a_file_in_a_parent_is_found(repo, parsed, monkeypatch) -> None:
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    (repo / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(repo / "a" / "b")
    assert run(parsed, "serve").port == 9001


@pytest.mark.parametrize("git_file", [False, True], ids=["git-directory", "worktree-git-file"])
def test_the_search_stops_at_the_repository_root(tmp_path, parsed, capsys, monkeypatch, git_file):
    write(tmp_path / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    root = tmp_path / "repo"
    root.mkdir()
    if git_file:
        write(root / ".git", "gitdir: /elsewhere\n")
    else:
        (root / ".git").mkdir()
    monkeypatch.chdir(root)
    assert run(parsed, "serve").port == 8000
    assert capsys.readouterr().err == ""


def test_outside_a_repository_the_search_goes_on_up(tmp_path) -> None:
    path = write(tmp_path / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    found = config.find(tmp_path / "a" / "b")
    assert found is not None and found.path == path


def test_patchworks_mock_toml_wins_over_pyproject_in_one_directory(repo, parsed, capsys) -> None:
    write(repo / "pyproject.toml", "[tool.patchworks-mock.serve]\nport = 9002\n")
    path = write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    assert run(parsed, "serve").port == 9001
    assert str(path) in capsys.readouterr().err


def test_the_nearest_file_wins_and_a_pyproject_table_is_read(repo, parsed, capsys, monkeypatch):
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    path = write(repo / "sub" / "pyproject.toml", "[tool.patchworks-mock.serve]\nport = 9002\n")
    monkeypatch.chdir(repo / "sub")
    assert run(parsed, "serve").port == 9002
    assert f"defaults from {path} [tool.patchworks-mock]" in capsys.readouterr().err


def test_a_pyproject_without_the_table_is_passed_over(repo, parsed, monkeypatch) -> None:
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    write(repo / "sub" / "pyproject.toml", "[project]\nname = 'x'\n[tool.ruff]\nfix = true\n")
    monkeypatch.chdir(repo / "sub")
    assert run(parsed, "serve").port == 9001


def test_no_file_leaves_the_built_in_defaults(repo, parsed, capsys) -> None:
    args = run(parsed, "serve")
    assert (args.port, args.latency, args.fixtures) == (8000, None, str(bundled.DEFAULT_FIXTURES))
    assert capsys.readouterr().err == ""


# Precedence: flags, then the environment, then the file, then the default


def test_serve_flags_win_over_the_file(repo, parsed) -> None:
    write(repo / "patchworks-mock.toml", '[serve]\nport = 9001\nlatency = "20-200"\n')
    args = run(parsed, "serve")
    assert (args.port, args.latency) == (9001, (20, 200))
    args = run(parsed, "serve", "--port", "9002", "--latency", "5-6")
    assert (args.port, args.latency) == (9002, (5, 6))


def test_serve_keys_come_from_flags_then_the_environment_then_the_file(
    repo, parsed, monkeypatch
) -> None:
    write(repo / "patchworks-mock.toml", '[serve]\napi-key = ["${K1}", "${K2}"]\n')
    monkeypatch.setenv("K1", "one")
    monkeypatch.setenv("K2", "two")
    assert run(parsed, "serve").api_key == ["one", "two"]
    assert run(parsed, "serve", "--api-key", "flag").api_key == ["flag"]
    monkeypatch.setenv("PATCHWORKS_MOCK_API_KEY", "from-env")
    assert run(parsed, "serve").api_key is None  # serve() then reads the variable


def test_check_options_from_the_file_and_flags_over_them(repo, parsed) -> None:
    write(
        repo / "patchworks-mock.toml",
        "[check]\n"
        'url = "https://staging.example"\n'
        "seed = 7\n"
        "allow-deploy = true\n"
        'virtual-environment = ["11", "12"]\n'
        'suites = "schema,properties"\n',
    )
    args = run(parsed, "check")
    assert args.url == "https://staging.example"
    assert (args.seed, args.allow_deploy, args.virtual_environment) == (7, True, ["11", "12"])
    assert args.suites == ("schema", "properties")
    args = run(
        parsed,
        *("check", "--url", "http://127.0.0.1:1", "--seed", "8"),
        *("--virtual-environment", "20", "--virtual-environment", "21"),
    )
    assert (args.url, args.seed) == ("http://127.0.0.1:1", 8)
    assert args.virtual_environment == ["20", "21"]  # the flags replace the file's list


def test_a_switch_set_false_in_the_file_is_off(repo, parsed) -> None:
    write(repo / "patchworks-mock.toml", "[check]\nallow-deploy = false\nread-only = true\n")
    args = run(parsed, "check")
    assert (args.allow_deploy, args.read_only) == (False, True)


def test_the_key_check_sends_comes_from_flag_then_environment_then_file(repo, monkeypatch) -> None:
    from patchworks_mock.contract import runner

    sent: list[str | None] = []

    def execute(options: runner.Options) -> tuple[int, None]:
        sent.append(options.api_key)
        return 0, None

    monkeypatch.setattr(runner, "execute", execute)
    write(
        repo / "patchworks-mock.toml",
        '[check]\nurl = "http://127.0.0.1:1"\napi-key = "${STAGING_KEY}"\n',
    )
    monkeypatch.setenv("STAGING_KEY", "file")
    assert cli.main(["check"]) == 0
    monkeypatch.setenv("PATCHWORKS_API_KEY", "environment")
    assert cli.main(["check"]) == 0
    assert cli.main(["check", "--api-key", "flag"]) == 0
    assert sent == ["file", "environment", "flag"]


def test_fixtures_export_options_and_key_precedence(repo, monkeypatch) -> None:
    seen: list[tuple[str, str, float]] = []

    def fake_export(url, key, *, timeout, progress):
        seen.append((url, key, timeout))
        return {name: [] for name in fixture_commands.COLLECTIONS}

    monkeypatch.setattr(export, "export", fake_export)
    write(
        repo / "patchworks-mock.toml",
        '[fixtures.export]\nurl = "http://127.0.0.1:1"\napi-key = "${STAGING_KEY}"\n'
        'timeout = 5\noutput = "out.json"\n',
    )
    monkeypatch.setenv("STAGING_KEY", "file")
    assert cli.main(["fixtures", "export"]) == 0
    monkeypatch.setenv("PATCHWORKS_API_KEY", "environment")
    assert cli.main(["fixtures", "export", "--timeout", "2.5"]) == 0
    assert cli.main(["fixtures", "export", "--api-key", "flag", "--url", "http://h"]) == 0
    assert seen == [
        ("http://127.0.0.1:1", "file", 5.0),
        ("http://127.0.0.1:1", "environment", 2.5),
        ("http://h", "flag", 5.0),
    ]
    assert (repo / "out.json").exists()


def test_fixtures_export_reads_the_target_key_variable(repo, monkeypatch, capsys) -> None:
    keys: list[str] = []
    monkeypatch.setattr(
        export, "export", lambda url, key, **_: keys.append(key) or {"packages": []}
    )
    monkeypatch.setattr(fixture_commands, "_deliver", lambda *_: 0)
    assert "export needs --api-key" in refused(capsys, "fixtures", "export", "--url", "http://h")
    monkeypatch.setenv("PATCHWORKS_API_KEY", "environment")
    assert cli.main(["fixtures", "export", "--url", "http://h"]) == 0
    assert keys == ["environment"]


def test_a_required_flag_may_come_from_the_file(repo, parsed, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["fixtures", "generate"])
    assert "--seed" in capsys.readouterr().err
    write(repo / "patchworks-mock.toml", "[fixtures.generate]\nseed = 3\npackages = 9\n")
    args = run(parsed, "fixtures", "generate")
    assert (args.seed, args.packages) == (3, 9)


def test_paths_are_relative_to_the_file(repo, parsed, monkeypatch) -> None:
    write(repo / "patchworks-mock.toml", '[check]\njunit-xml = "reports/junit.xml"\n')
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert run(parsed, "check").junit_xml == str(repo / "reports" / "junit.xml")


# ${NAME}: secrets only from the environment


def test_variables_are_substituted_and_dollar_dollar_is_literal(repo, parsed, monkeypatch):
    write(
        repo / "patchworks-mock.toml",
        '[check]\nurl = "https://${HOST}/api"\nreport = "/tmp/$${HOST}-$HOST.md"\n',
    )
    monkeypatch.setenv("HOST", "staging.example")
    args = run(parsed, "check")
    assert args.url == "https://staging.example/api"
    assert args.report == "/tmp/${HOST}-$HOST.md"


def test_a_missing_variable_is_an_error(repo, parsed, capsys) -> None:
    path = write(repo / "patchworks-mock.toml", '[check]\napi-key = "${STAGING_KEY}"\n')
    line = refused(capsys, "check")
    assert line.endswith(f"{path}: check.api-key: environment variable STAGING_KEY is not set")


@pytest.mark.parametrize(
    ("table", "text"),
    [
        ("check", 'api-key = "s3cret"'),
        ("check", 'api-key = "Bearer ${STAGING_KEY}"'),
        ("fixtures.export", 'api-key = "s3cret"'),
        ("serve", 'api-key = ["${K1}", "plain"]'),
    ],
)
def test_a_key_written_in_the_file_is_refused(repo, parsed, capsys, monkeypatch, table, text):
    monkeypatch.setenv("STAGING_KEY", "x")
    monkeypatch.setenv("K1", "x")
    path = write(repo / "patchworks-mock.toml", f"[{table}]\n{text}\n")
    line = refused(capsys, *table.split("."))
    assert f"{path}: {table}.api-key" in line
    assert "a secret is never written in the file" in line
    assert "s3cret" not in line and "plain" not in line


# Wrong tables, keys, types and values: one line naming the file and the key, exit 2


@pytest.mark.parametrize(
    ("text", "place", "reason"),
    [
        ("[check]\nsed = 1", "check.sed", "unknown option; 'check' takes allow-deploy"),
        ("[check]\nmax_examples = 5", "check.max_examples", "write it max-examples"),
        ("[sever]\nport = 1", "sever", "unknown table; the tables are [check], [fixtures."),
        ("[proxy]\nuptream = 'http://x'", "proxy.uptream", "unknown option; 'proxy' takes"),
        ("[fixtures]\nseed = 1", "fixtures.seed", "unknown table"),
        ("[fixtures.validate]\nx = 1", "fixtures.validate.x", "has no options to set"),
        ("serve = 1", "serve", "must be a table ([serve]), not an integer"),
        ("[serve]\nport = true", "serve.port", "must be a whole number, not a boolean"),
        ("[serve]\nport = 80.5", "serve.port", "must be a whole number, not a float"),
        ("[serve]\nlatency = 20", "serve.latency", "must be a string, not an integer"),
        ("[check]\nallow-deploy = 'yes'", "check.allow-deploy", "must be true or false"),
        ("[check]\nvirtual-environment = '1'", "check.virtual-environment", "must be an array"),
        ("[check]\nflow-version = [1]", "check.flow-version[0]", "must be a string"),
        ("[serve]\nport = 70000", "serve.port", "'70000' is not a port (0 to 65535)"),
        ("[serve]\nport = 'x'", "serve.port", "'x' is not a port"),
        ("[serve]\nlatency = '9-1'", "serve.latency", "must be 0 <= MIN <= MAX"),
        ("[check]\nmax-examples = 0", "check.max-examples", "must be at least 1"),
        ("[check]\nprofile = 'huge'", "check.profile", "invalid choice 'huge' (choose from"),
        ("[check]\nsuites = 'all'", "check.suites", "choose from schema"),
        ("[fixtures.generate]\nusers = 'many'", "fixtures.generate.users", "invalid int value"),
        ("[check]\nurl = '${1X}'", "check.url", "'${1X}' is not an environment variable name"),
    ],
)
def test_a_wrong_key_or_value_is_one_line_and_exit_2(repo, parsed, capsys, text, place, reason):
    path = write(repo / "patchworks-mock.toml", text + "\n")
    line = refused(capsys, "serve")
    assert f": error: {path}: {place}: " in line
    assert reason in line
    assert parsed == []


def test_a_wrong_key_in_pyproject_names_the_whole_table(repo, parsed, capsys) -> None:
    path = write(repo / "pyproject.toml", "[tool.patchworks-mock.check]\nsed = 1\n")
    assert f"{path}: tool.patchworks-mock.check.sed: unknown option" in refused(capsys, "check")


def test_a_file_that_is_not_toml_is_one_line(repo, parsed, capsys) -> None:
    path = write(repo / "patchworks-mock.toml", "[serve\nport = 1\n")
    assert f"{path}: not valid TOML: " in refused(capsys, "serve")


# --config and --no-config


def test_config_names_a_file_outside_the_search(repo, tmp_path, parsed, capsys) -> None:
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    other = write(tmp_path / "staging.toml", "[serve]\nport = 9003\n")
    assert run(parsed, "--config", str(other), "serve").port == 9003
    assert run(parsed, f"--config={other}", "serve").port == 9003
    assert f"defaults from {other}" in capsys.readouterr().err


def test_config_reads_a_named_pyproject_for_its_table(repo, tmp_path, parsed, capsys) -> None:
    named = write(tmp_path / "x" / "pyproject.toml", "[tool.patchworks-mock.serve]\nport = 9004\n")
    assert run(parsed, "--config", str(named), "serve").port == 9004
    capsys.readouterr()
    write(named, "[project]\nname = 'x'\n")
    assert "has no [tool.patchworks-mock] table" in refused(capsys, "--config", str(named), "serve")


def test_config_naming_a_missing_file_is_one_line(repo, parsed, capsys) -> None:
    line = refused(capsys, "--config", "absent.toml", "serve")
    assert "cannot read absent.toml: No such file or directory" in line


def test_no_config_reads_no_file(repo, parsed, capsys) -> None:
    write(repo / "patchworks-mock.toml", "[serve\nbroken")
    assert run(parsed, "--no-config", "serve").port == 8000
    assert capsys.readouterr().err == ""


def test_config_and_no_config_together_are_refused(repo, parsed, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--config", "x.toml", "--no-config", "serve"])
    assert stopped.value.code == 2
    assert "not allowed with argument" in one_error_line(capsys.readouterr().err)


def test_config_without_a_path_is_refused_by_the_parser(repo, parsed, capsys) -> None:
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--config"])
    assert stopped.value.code == 2
    assert "expected one argument" in one_error_line(capsys.readouterr().err)


def test_a_refused_flag_stays_one_line_with_a_file(repo, parsed, capsys) -> None:
    write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--port", "x"])
    assert stopped.value.code == 2
    assert "'x' is not a port" in one_error_line(capsys.readouterr().err)


# Help texts, and the project's own runs


def test_help_shows_the_file_and_its_defaults(repo, capsys) -> None:
    path = write(repo / "patchworks-mock.toml", "[serve]\nport = 9001\n")
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = "".join(capsys.readouterr().out.split())  # the help wraps long paths anywhere
    assert "(default:9001)" in out
    assert f"Defaultsfrom{path}." in out


@pytest.mark.parametrize(
    ("argv", "variable"),
    [
        (["serve"], "PATCHWORKS_MOCK_API_KEY"),
        (["check"], "PATCHWORKS_API_KEY"),
        (["fixtures", "export"], "PATCHWORKS_API_KEY"),
    ],
)
def test_help_names_each_key_variable(repo, capsys, argv, variable) -> None:
    with pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    assert f"${variable}" in capsys.readouterr().out.replace("\n", " ")


def test_the_root_help_shows_the_config_options(repo, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "--config PATH" in out and "--no-config" in out and "patchworks-mock.toml" in out


def test_the_project_has_no_configuration_of_its_own() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "patchworks-mock" not in pyproject.get("tool", {})


def test_the_app_factory_reads_no_configuration(repo) -> None:
    write(repo / "patchworks-mock.toml", "[serve\nbroken")
    from patchworks_mock.app import create_app

    assert create_app().state.store.packages
