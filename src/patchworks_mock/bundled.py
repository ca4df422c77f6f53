"""Where the spec and the bundled fixtures are: inside the wheel, or at the top of a checkout."""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _resource(name: str) -> Path:
    bundled = _PACKAGE_DIR / "_bundled" / name  # where the wheel puts the top-level folders
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parents[1] / name


SPEC_DIR = _resource("openapi")
FIXTURES_DIR = _resource("fixtures")
PACKAGES_SPEC = SPEC_DIR / "packages.yaml"
ADMIN_SPEC = SPEC_DIR / "mock-admin.yaml"
DEFAULT_FIXTURES = FIXTURES_DIR / "default.json"
FIXTURE_SCHEMA = FIXTURES_DIR / "schema.json"
