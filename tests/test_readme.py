"""The README's curl session is true: run as written against the mock, it answers what it says."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from patchworks_mock.app import create_app
from patchworks_mock.server import serving

README = Path(__file__).resolve().parent.parent / "README.md"
STATUS = re.compile(r"-> HTTP (\d{3})")


def _session() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```sh\n", text.index("## A session with curl")) + len("```sh\n")
    return text[start : text.index("\n```", start)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the session is curl commands")
def test_the_curl_session_answers_the_statuses_it_shows() -> None:
    session = _session()
    with serving(create_app()) as url:
        ran = subprocess.run(
            ["bash", "-c", session.replace("http://127.0.0.1:8000", url)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert ran.returncode == 0, ran.stderr
    shown = [m for line in session.splitlines() for m in STATUS.findall(line.partition("#")[2])]
    assert STATUS.findall(ran.stdout) == shown
    assert f"location: {url}/api/v1/packages/6" in ran.stdout
    assert '"in_sync":false' in ran.stdout
    for said in ('{"message":"Package deleted successfully."}', "allow: GET, HEAD, PUT, DELETE"):
        assert said in session and said in ran.stdout
