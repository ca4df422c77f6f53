"""The programs a run needs (wrk, Prism, py-spy), installed when missing, and their versions.

A missing tool that cannot be installed is a BenchError: the run stops before it starts a
server rather than half-way through.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from bench import BENCH, REPO, BenchError

NODE_PREFIX = BENCH / ".node"  # Prism goes here, not into the user's global npm prefix
PRISM_PACKAGE = "@stoplight/prism-cli@5"


def _run_quiet(command: list[str], timeout: float = 600) -> bool:
    """Whether `command` succeeded; its output is dropped (apt and npm are verbose)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def ensure_wrk(explicit: str | None) -> str:
    """The wrk binary: --wrk, else on PATH, else installed from Debian's packages."""
    if explicit:
        if not shutil.which(explicit):
            raise BenchError(f"--wrk {explicit}: not found")
        return explicit
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        raise BenchError("wrk is not installed and apt-get is not available; install wrk")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and not shutil.which("sudo"):
        raise BenchError("wrk is not installed; run as root or install it: apt-get install wrk")
    print("installing wrk with apt-get ...", flush=True)
    ok = _run_quiet([*sudo, "apt-get", "update", "-qq"]) and _run_quiet(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"]
    )
    found = shutil.which("wrk")
    if not ok or not found:
        raise BenchError("cannot install wrk with apt-get; install it: apt-get install wrk")
    return found


def ensure_prism(explicit: str | None) -> list[str]:
    """The command that runs Prism: --prism, else bench/.node's, installed there with npm."""
    if explicit:
        return [explicit]
    local = NODE_PREFIX / "node_modules" / ".bin" / "prism"
    if not local.exists():
        if not shutil.which("npm"):
            raise BenchError("Prism is not installed and npm is not available; install Node.js")
        print(f"installing {PRISM_PACKAGE} into {NODE_PREFIX} ...", flush=True)
        command = ["npm", "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund"]
        if not _run_quiet([*command, PRISM_PACKAGE]) or not local.exists():
            raise BenchError(
                f"cannot install {PRISM_PACKAGE} with npm; "
                f"try: npm install --prefix {NODE_PREFIX} {PRISM_PACKAGE}"
            )
    return [str(local)]


def ensure_py_spy(explicit: str | None) -> str:
    """The py-spy binary for --profile; not installed for the user (it is a pip package)."""
    found = shutil.which(explicit or "py-spy")
    if not found:
        raise BenchError("--profile needs py-spy: pip install py-spy (or pass --py-spy PATH)")
    return found


def _version(command: list[str]) -> str:
    """The first line `command` prints, or "?": a missing version must not stop a run."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def environment(python: str, wrk: str | None, prism: list[str] | None) -> dict:
    """The machine, the versions and the commit, so that two results files can be compared."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = _version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": _version([python, "--version"]),
        "connexion": _version(
            [python, "-c", "import importlib.metadata as m; print(m.version('connexion'))"]
        ),
        "wrk": _version([wrk, "--version"]) if wrk else None,
        "prism": _version([*prism, "--version"]) if prism else None,
        "commit": commit + ("+dirty" if dirty else ""),
        "load_1m_at_start": round(os.getloadavg()[0], 2),
    }
