"""The stores the servers start on: seeded fixture documents made by the mock's generator.

Each comes with the ids the requests cycle through, so that the load touches packages spread
over the whole store rather than the first few.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from bench import BenchError

SAMPLED_IDS = 1000  # get/update/compare cycle through at most this many ids, spread out


@dataclass
class Fixture:
    """A generated fixture file and the ids the requests cycle through."""

    packages: int
    path: Path
    ids: list[int]
    members: list[int]  # packages with flow versions, for compare
    versions: list[int]  # one version of each flow, for add_version
    environments: list[int]
    seconds: float


def spread(values: list[int], limit: int) -> list[int]:
    """At most `limit` of `values`, evenly spaced from the first to near the last."""
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def make_fixture(packages: int, seed: int, directory: Path) -> Fixture:
    """Generate a seeded fixture document with `packages` packages and write it out."""
    try:
        from patchworks_mock.fixtures import generate
    except ImportError as exc:
        raise BenchError(f"cannot import patchworks_mock.fixtures.generate: {exc}") from None
    started = time.monotonic()
    document = generate(seed, packages=packages)
    path = directory / f"fixtures-{seed}-{packages}.json"
    path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    first_version: dict[int, int] = {}
    for version in document["flow_versions"]:
        first_version.setdefault(version["flow_id"], version["id"])
    records = document["packages"]
    return Fixture(
        packages=packages,
        path=path,
        ids=spread([p["id"] for p in records], SAMPLED_IDS),
        members=spread([p["id"] for p in records if p.get("flow_versions")], SAMPLED_IDS),
        versions=list(first_version.values()),
        environments=[e["id"] for e in document["virtual_environments"]],
        seconds=time.monotonic() - started,
    )
