"""patchworks-mock: a stateful mock and contract suite for the Patchworks Packages API."""

from patchworks_mock.app import create_app

__all__ = ["create_app"]
__version__ = "0.1.0"
