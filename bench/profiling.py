"""py-spy recordings of the mock under load (--profile), and the functions they spend most in.

The recordings stay in the log directory for a closer look; the JSON keeps the top functions
so that two runs can be compared without py-spy at hand.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second: enough for a few seconds' load, little cost to the server


def start(py_spy: str, pid: int, raw: Path, seconds: int) -> subprocess.Popen:
    """Record process `pid` for `seconds` into `raw` (py-spy's raw format), in the background."""
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
        + ["--duration", str(seconds), "--nonblocking", "-o", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish(spy: subprocess.Popen, raw: Path, seconds: int) -> list[dict]:
    """Wait for a recording to end; its top functions, or none if py-spy wrote nothing."""
    spy.wait(timeout=seconds + 60)
    return summary(raw) if raw.exists() else []


def summary(raw: Path, top: int = 15) -> list[dict]:
    """The functions with the most samples on top of the stack (self) in a py-spy raw file."""
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        own[stack.split(";")[-1]] += int(count)
    return [
        {"function": name, "self_share": round(n / total, 4), "samples": n}
        for name, n in own.most_common(top)
    ]
