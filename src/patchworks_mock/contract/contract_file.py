"""The bundled contract file (`openapi/packages.yaml`) as the suite reads it: parsed once, with
its local `$ref`s followed on demand.

The suite may read the contract file (it is what it checks servers against), never the mock's
code; `boundaries.py` reads its limits from it, `schema_errors.py` its response schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from patchworks_mock.bundled import PACKAGES_SPEC


@cache
def bundled() -> dict[str, Any]:
    """The bundled contract, parsed once per process."""
    parsed: dict[str, Any] = yaml.safe_load(PACKAGES_SPEC.read_text(encoding="utf-8"))
    return parsed


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """`node` with any local `$ref` (`#/components/...`) followed."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
