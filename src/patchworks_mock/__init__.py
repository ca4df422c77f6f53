"""patchworks-mock: a stateful mock and contract suite for the Patchworks Packages API."""

import warnings

# Connexion imports Starlette's test client at start; its httpx notice means nothing to users.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from patchworks_mock.app import create_app  # noqa: E402

__all__ = ["create_app"]
__version__ = "0.1.0"
