"""The benchmark of the mock against Prism: `python bench/run.py` (see bench/README.md).

This file holds only what every part shares: where things are, the key the servers are
started with, and the error that ends a run.
"""

from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
API_KEY = "bench-key"


class BenchError(Exception):
    """A problem that ends the run with one line on stderr and exit code 2."""
