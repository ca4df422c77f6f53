"""What the bundled specs say about each path: its methods and the statuses each documents.

Read once, for answers Connexion's routing does not give: the `Allow` header of a 405 (every
method of the path, not one route's) and the error statuses `Prefer: code=` may simulate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import yaml

from patchworks_mock import bundled

METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_FILTER = re.compile(r"filter\[([^\]]+)\]")


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    statuses: dict[str, frozenset[int]]  # method -> documented response statuses

    @property
    def methods(self) -> list[str]:
        """The methods served, HEAD wherever GET is, in Laravel's order."""
        served = set(self.statuses) | ({"HEAD"} if "GET" in self.statuses else set())
        return [m for m in METHOD_ORDER if m in served]


@cache
def _load(spec_file: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(spec_file.read_text(encoding="utf-8")))


def _base_path(spec: dict[str, Any]) -> str:
    url: str = spec["servers"][0]["url"]
    return urlparse(url).path.rstrip("/")


@cache
def admin_prefix() -> str:
    """Where the mock's own endpoints live (`/__mock__/`): the request journal, the faults and
    the throttle leave requests under it alone."""
    return _base_path(_load(bundled.ADMIN_SPEC)) + "/"


def _read(spec_file: Path) -> list[Route]:
    spec = _load(spec_file)
    prefix = _base_path(spec)
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
    return _read(bundled.PACKAGES_SPEC) + _read(bundled.ADMIN_SPEC)


def find(path: str) -> Route | None:
    return next((route for route in table() if route.pattern.fullmatch(path)), None)


def methods_of(path: str) -> list[str]:
    """The methods the specs serve at `path`, in Laravel's order (none if it is no route)."""
    route = find(path)
    return route.methods if route else []


def documented_statuses(method: str, path: str) -> frozenset[int]:
    """The response statuses the specs document for `method` at `path`."""
    route = find(path)
    return route.statuses.get(method, frozenset()) if route else frozenset()


def allowed_values(parameter: str) -> list[str]:
    """The enumerated values of a list-valued query parameter of the packages spec, e.g. the
    includes spatie allows (`components.parameters.Include`)."""
    schema = _load(bundled.PACKAGES_SPEC)["components"]["parameters"][parameter]["schema"]
    return list(schema["items"]["enum"])


def allowed_filters() -> list[str]:
    """The filters spatie allows: `x` for every `filter[x]` query parameter the packages spec
    defines (`components.parameters`)."""
    parameters = _load(bundled.PACKAGES_SPEC)["components"]["parameters"].values()
    names = (p["name"] for p in parameters if p["in"] == "query")
    return [match.group(1) for name in names if (match := _FILTER.fullmatch(name))]
