"""Defaults for the commands from a file: a team keeps its long command lines in its repository.

Which file: `patchworks-mock.toml`, else the `[tool.patchworks-mock]` table of a
`pyproject.toml`, looked for in the current directory, then each parent, up to the repository
root (the first directory holding `.git`, a directory or the file a worktree has) or, outside a
repository, the filesystem root. The nearest file wins; in one directory `patchworks-mock.toml`
wins over `pyproject.toml`, and a `pyproject.toml` without the table is passed over.
`patchworks-mock --config PATH COMMAND` names the file (a file named `pyproject.toml` is read
for its table); `--no-config` reads none. Only the command line reads files: `create_app` and
the pytest plugin never do.

What it holds: one table per command, `[serve]`, `[check]`, `[fixtures.generate]`,
`[fixtures.export]`, whose keys are the command's long flag names without `--`, written as the
flag is (`max-examples`, not `max_examples`). A value is typed as the flag takes it: a string
(always accepted, read exactly as the command line reads it), a number for a flag that takes
one, a boolean for a switch, an array for a repeatable flag; each is checked by the flag's own
argparse `type=` and `choices`. A PATH option's relative value is relative to the file's
directory.

Precedence: flags, then the environment (`PATCHWORKS_MOCK_API_KEY` for `serve`,
`PATCHWORKS_API_KEY` for `check` and `fixtures export`), then the file, then the built-in
default. Secrets come only from the environment: any string may hold `${NAME}`, replaced by
that variable (`$${` is a literal `${`; a variable that is not set is an error), and `api-key`
must be written as `"${NAME}"`, never as the key itself.
"""

from __future__ import annotations

import argparse
import re
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchworks_mock.cli_common import MOCK_KEY_VARIABLE, TARGET_KEY_VARIABLE

FILE_NAME = "patchworks-mock.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "patchworks-mock")

# Options whose value is a secret: only `${NAME}` may be written for them.
SECRETS = frozenset({"api-key"})

# Options an environment variable also sets; the variable wins over the file.
ENVIRONMENT = {
    ("serve", "api-key"): MOCK_KEY_VARIABLE,
    ("proxy", "api-key"): MOCK_KEY_VARIABLE,
    ("check", "api-key"): TARGET_KEY_VARIABLE,
    ("fixtures.export", "api-key"): TARGET_KEY_VARIABLE,
}

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ONLY_A_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


class ConfigError(Exception):
    """A file that cannot be used: its message is one line naming the file, the place, why."""


@dataclass(frozen=True)
class Config:
    """A configuration file's tables, read but not yet checked against the commands."""

    path: Path
    tables: dict[str, Any]
    prefix: tuple[str, ...] = ()  # where the tables sit in the file: ("tool", "patchworks-mock")

    def describe(self) -> str:
        """The file (and table) as the line that says where defaults came from shows it."""
        return f"{self.path} [{'.'.join(self.prefix)}]" if self.prefix else str(self.path)


class _FileList(list[Any]):
    """A repeatable flag's values from the file. argparse copies a default list before it
    appends a flag's value (`_copy_items`, which uses copy.copy for anything but a plain list);
    this list copies as an empty one, so that the flags replace the file's values rather than
    add to them."""

    def __copy__(self) -> list[Any]:
        return []


def chosen(argv: Sequence[str]) -> tuple[str | None, bool]:
    """`--config PATH` and `--no-config` from the options before the command, where the root
    parser takes them; read first, because the file gives the defaults the parse needs."""
    path, skip = None, False
    tokens = iter(argv)
    for token in tokens:
        if not token.startswith("-"):
            break
        if token == "--no-config":
            skip = True
        elif token == "--config":
            path = next(tokens, None)
            skip = skip or path is None  # nothing named: argparse refuses the line
        elif token.startswith("--config="):
            path = token.partition("=")[2]
    return path, skip


def find(start: Path) -> Config | None:
    """The nearest configuration from `start` up to the repository root, or None."""
    for directory in (start, *start.parents):
        own = directory / FILE_NAME
        if own.is_file():
            return read(own)
        project = directory / PYPROJECT
        if project.is_file():
            found = read(project)
            if found is not None:
                return found
        if (directory / ".git").exists():
            return None
    return None


def read(path: Path) -> Config | None:
    """The file's tables; None for a `pyproject.toml` without `[tool.patchworks-mock]`."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name != PYPROJECT:
        return Config(path, document)
    tool = document.get(PYPROJECT_TABLE[0], {})
    if not isinstance(tool, dict) or PYPROJECT_TABLE[1] not in tool:
        return None
    tables = tool[PYPROJECT_TABLE[1]]
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: {'.'.join(PYPROJECT_TABLE)}: must be a table")
    return Config(path, tables, PYPROJECT_TABLE)


def load(argv: Sequence[str], cwd: Path) -> Config | None:
    """The configuration this command line asks for: named, found, or none."""
    path, skip = chosen(argv)
    if skip:
        return None
    if path is None:
        return find(cwd)
    named = Path(path)
    found = read(named)
    if found is None:
        raise ConfigError(f"{named}: has no [{'.'.join(PYPROJECT_TABLE)}] table")
    return found


def command_parsers(
    parser: argparse.ArgumentParser,
) -> dict[str, argparse.ArgumentParser]:
    """Each sub-command's parser by its dotted name (`fixtures.export`)."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name}.{k}": v for k, v in command_parsers(sub).items()})
    return found


def apply(config: Config, root: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Make the file's values the defaults of the commands' parsers, each checked as its flag
    would be; the flags given still win. Raises ConfigError for the first wrong table, key or
    value. Each command's help then says where its defaults came from."""
    parsers = command_parsers(root)
    for parser in (root, *parsers.values()):
        parser.epilog = " ".join(
            filter(None, (parser.epilog, f"Defaults from {config.describe()}."))
        )
    for command, table in _leaf_tables(config, config.tables, (), parsers):
        parser = parsers[command]
        options = _options(parser)
        for key, raw in table.items():
            place = _place(config, (*command.split("."), key))
            action = options.get(key)
            if action is None:
                raise ConfigError(f"{place}: {_unknown_option(key, command, options)}")
            value = _value(action, raw, key, place, config, environ)
            variable = ENVIRONMENT.get((command, key))
            if variable and environ.get(variable):
                continue  # the environment wins; the value was still checked
            parser.set_defaults(**{action.dest: value})
            action.required = False


def _leaf_tables(
    config: Config,
    tables: dict[str, Any],
    path: tuple[str, ...],
    parsers: dict[str, argparse.ArgumentParser],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The command tables in the file, by dotted command name; a wrong table raises."""
    for name, table in tables.items():
        here = (*path, name)
        dotted = ".".join(here)
        place = _place(config, here)
        if dotted not in parsers:
            known = ", ".join(f"[{n}]" for n in sorted(parsers) if _options(parsers[n]))
            raise ConfigError(f"{place}: unknown table; the tables are {known}")
        if not isinstance(table, dict):
            raise ConfigError(f"{place}: must be a table ([{dotted}]), not {_kind(table)}")
        if command_parsers(parsers[dotted]):
            yield from _leaf_tables(config, table, here, parsers)
        else:
            yield dotted, table


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The options a file may set: long flags that take a value, switch on, or repeat."""
    settable = (argparse._StoreAction, argparse._StoreTrueAction, argparse._AppendAction)
    return {
        flag[2:]: action
        for action in parser._actions
        if isinstance(action, settable)
        for flag in action.option_strings
        if flag.startswith("--")
    }


def _unknown_option(key: str, command: str, options: Mapping[str, argparse.Action]) -> str:
    spaced = command.replace(".", " ")
    if not options:
        return f"unknown option; '{spaced}' has no options to set"
    if key.replace("_", "-") in options:
        return f"unknown option; write it {key.replace('_', '-')} (keys are the flag names)"
    return f"unknown option; '{spaced}' takes {', '.join(sorted(options))}"


def _value(
    action: argparse.Action,
    raw: Any,
    key: str,
    place: str,
    config: Config,
    environ: Mapping[str, str],
) -> Any:
    """The file's value as the parsed flag would be, checked by the flag's own type."""
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(raw, bool):
            raise ConfigError(f"{place}: must be true or false, not {_kind(raw)}")
        return raw
    if isinstance(action, argparse._AppendAction):
        if not isinstance(raw, list):
            raise ConfigError(
                f"{place}: must be an array (the flag repeats), e.g. {key} = [...], "
                f"not {_kind(raw)}"
            )
        return _FileList(
            _scalar(action, item, key, f"{place}[{i}]", config, environ)
            for i, item in enumerate(raw)
        )
    return _scalar(action, raw, key, place, config, environ)


def _scalar(
    action: argparse.Action,
    raw: Any,
    key: str,
    place: str,
    config: Config,
    environ: Mapping[str, str],
) -> Any:
    number = _number_kind(action.type)
    if isinstance(raw, str):
        if key in SECRETS and not _ONLY_A_REFERENCE.fullmatch(raw):
            raise ConfigError(
                f"{place}: a secret is never written in the file; write {key} = "
                '"${NAME}" and set NAME in the environment'
            )
        text = _substitute(raw, place, environ)
        if action.metavar and str(action.metavar).startswith("PATH") and text != "-":
            text = str(config.path.parent / text)
    elif _fits(raw, number):
        text = str(raw)
    else:
        wanted = "a whole number" if number is int else "a number" if number else "a string"
        raise ConfigError(f"{place}: must be {wanted}, not {_kind(raw)}")
    convert: Callable[[str], Any] = action.type or str  # type: ignore[assignment]
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"{place}: {exc}") from None
    except (TypeError, ValueError):
        name = getattr(convert, "__name__", "")
        raise ConfigError(f"{place}: invalid {name} value: {text!r}") from None
    if action.choices is not None and value not in action.choices:
        allowed = ", ".join(map(repr, action.choices))
        raise ConfigError(f"{place}: invalid choice {text!r} (choose from {allowed})")
    return value


def _number_kind(convert: object) -> type | None:
    """int or float when the flag's type makes a number (so the file may write one)."""
    if convert in (int, float):
        return convert
    try:
        made = typing.get_type_hints(convert).get("return")
    except Exception:  # a callable whose hints cannot be read takes strings
        return None
    return made if made in (int, float) else None


def _fits(raw: Any, number: type | None) -> bool:
    """Whether a TOML number may stand for the flag's text: whole for int, any for float."""
    if isinstance(raw, bool) or number is None:
        return False
    return isinstance(raw, int) or (number is float and isinstance(raw, float))


def _substitute(text: str, place: str, environ: Mapping[str, str]) -> str:
    """`${NAME}` replaced by the variable's value; `$${` kept as a literal `${`."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{place}: '${{{name}}}' is not an environment variable name")
        if name not in environ:
            raise ConfigError(f"{place}: environment variable {name} is not set")
        return environ[name]

    return _REFERENCE.sub(replace, text)


def _place(config: Config, keys: tuple[str, ...]) -> str:
    return f"{config.path}: {'.'.join((*config.prefix, *keys))}"


def _kind(value: object) -> str:
    """A TOML value's type in TOML's words, for errors."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"
