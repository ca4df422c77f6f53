"""What the spec files say about each path: its methods and the statuses each one documents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import yaml

from patchworks_mock import paths

METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    statuses: dict[str, frozenset[int]]  # method -> documented response statuses

    @property
    def methods(self) -> list[str]:
        """The methods served, HEAD wherever GET is, in Laravel's order."""
        served = set(self.statuses) | ({"HEAD"} if "GET" in self.statuses else set())
        return [m for m in METHOD_ORDER if m in served]


def _read(spec_file: Path) -> list[Route]:
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    prefix = urlparse(spec["servers"][0]["url"]).path.rstrip("/")
    routes = []
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + template))
        statuses = {
            method.upper(): frozenset(int(code) for code in operation["responses"])
            for method, operation in item.items()
            if method != "parameters"
        }
        routes.append(Route(re.compile(pattern), statuses))
    return routes


@cache
def table() -> list[Route]:
    return _read(paths.PACKAGES_SPEC) + _read(paths.ADMIN_SPEC)


def find(path: str) -> Route | None:
    return next((route for route in table() if route.pattern.fullmatch(path)), None)
