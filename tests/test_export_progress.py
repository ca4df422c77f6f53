"""`fixtures export` counts the packages it has read on one updating line of stderr, only when
stderr is a terminal."""

import argparse
import io
import sys

from patchworks_mock import create_app
from patchworks_mock.documents import commands
from patchworks_mock.fixtures import generate
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import serving


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def export_to(url, target):
    root = argparse.ArgumentParser(prog="patchworks-mock")
    commands.register(root.add_subparsers(dest="command", required=True))
    argv = ["fixtures", "export", "--url", url, "--api-key", DEVELOPMENT_KEY, "-o", str(target)]
    args = root.parse_args(argv)
    return args.handler(args)


def test_export_counts_packages_on_a_terminal_and_is_silent_on_a_pipe(tmp_path, monkeypatch):
    target = tmp_path / "exported.json"
    with serving(create_app(generate(3, packages=120, flows=3))) as url:
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert export_to(url, target) == 0
        pipe = io.StringIO()
        monkeypatch.setattr(sys, "stderr", pipe)
        assert export_to(url, target) == 0
    shown = terminal.getvalue()
    counts = [part.split("\x1b")[0] for part in shown.split("\r")[1:]]
    assert counts[:2] == ["packages: 100/120", "packages: 120/120"]
    assert "\r\x1b[K" + f"exported {url}" in shown  # the counter is cleared before the result
    assert "\r" not in pipe.getvalue() and pipe.getvalue().startswith(f"exported {url}")
