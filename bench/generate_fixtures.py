"""Time and peak memory of generating, writing, checking and loading a large fixture document.

    python bench/generate_fixtures.py                  # bench/run.py's 100,000 packages
    python bench/generate_fixtures.py --packages 20000

Each phase runs in its own process so that its peak resident memory is its own. Figures are
reported, not asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from patchworks_mock.documents.commands import sizes_of
from patchworks_mock.documents.generate import generate

PHASES = ("generate", "write", "check", "load")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_phase(args: argparse.Namespace) -> dict:
    """One phase, timed; `generate` and `write` make the document, the others read the file."""
    from patchworks_mock import fixtures

    path = Path(args.file)
    result: dict = {"phase": args.phase}
    if args.phase in ("generate", "write"):
        started = time.perf_counter()
        document = fixtures.generate(args.seed, **sizes_of(args))
        result["seconds"] = time.perf_counter() - started
        result["records"] = {name: len(document[name]) for name in fixtures.COLLECTIONS}
        if args.phase == "write":
            started = time.perf_counter()
            with path.open("wb") as stream:
                fixtures.write_json(document, stream)
            result["seconds"] = time.perf_counter() - started
            result["megabytes"] = path.stat().st_size / 1e6
    elif args.phase == "check":
        document = fixtures.read(path)
        started = time.perf_counter()
        found = fixtures.problems(document)
        result["seconds"] = time.perf_counter() - started
        result["problems"] = len(found)
    else:
        started = time.perf_counter()
        store = fixtures.FixtureFile(path).store()
        result["seconds"] = time.perf_counter() - started
        result["packages"] = len(store.packages)
    result["peak_mb"] = _peak_mb()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The generator's defaults but for the packages: the large fixture of bench/run.py.
    defaults = inspect.signature(generate).parameters
    parser.add_argument("--seed", type=int, default=1)
    for name in ("users", "flows", "versions_per_flow", "environments"):
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=defaults[name].default)
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--deployed-ratio", type=float, default=defaults["deployed_ratio"].default)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args)))
        return 0
    flags = sys.argv[1:]
    with tempfile.TemporaryDirectory() as directory:
        file = str(Path(directory) / "fixtures.json")
        print(f"{args.packages:,} packages, sizes {sizes_of(args)}, seed {args.seed}")
        for phase in PHASES:
            child = [sys.executable, __file__, *flags, "--phase", phase, "--file", file]
            result = json.loads(subprocess.run(child, check=True, capture_output=True).stdout)
            details = {k: v for k, v in result.items() if k not in ("phase", "seconds", "peak_mb")}
            print(
                f"{phase:>9}: {result['seconds']:7.2f} s   peak RSS {result['peak_mb']:7.0f} MB"
                f"   {details}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
