"""The version (written once, in pyproject.toml) and the licence, as an installed package shows
them."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import patchworks_mock
from patchworks_mock import cli

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_version_prints_the_installed_version_on_stdout(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    out, err = capsys.readouterr()
    assert out == f"patchworks-mock {PROJECT['version']}\n" and err == ""
    assert patchworks_mock.__version__ == PROJECT["version"]


def test_the_command_answers_version_before_anything_else():
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "--version", "serve", "--port", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"patchworks-mock {PROJECT['version']}\n")


def test_the_licence_file_is_the_one_pyproject_declares():
    assert PROJECT["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the patchworks-mock authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
