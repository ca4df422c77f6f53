"""patchworks-mock: a stateful mock and contract suite for the Patchworks Packages API."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # The app (and connexion with it) loads on first use, so that commands and the pytest
    # plugin that do not serve start quickly.
    if name == "create_app":
        from patchworks_mock.app import create_app

        return create_app
    if name == "__version__":  # written once, in pyproject.toml
        from importlib import metadata

        return metadata.version("patchworks-mock")
    raise AttributeError(f"module 'patchworks_mock' has no attribute {name!r}")
