"""Settings shared by the property tests: derandomized, so that a green run is green again."""

from hypothesis import HealthCheck, settings


def deterministic(max_examples: int) -> settings:
    """Fixed examples, no example database, no deadline, large generated documents allowed."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
