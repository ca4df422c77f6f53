"""Helpers shared by the test modules."""

from hypothesis import HealthCheck, settings


def deterministic(max_examples: int) -> settings:
    """Derandomized, so that a green run is green again; no example database, no deadline,
    large generated documents allowed."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def one_error_line(stderr: str) -> str:
    """The single `patchworks-mock: error: …` line a refused command prints."""
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("patchworks-mock: error: ")
    return lines[0]
