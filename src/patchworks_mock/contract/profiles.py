"""What `check` can be asked to run: suites, Schemathesis phases and how much each generates.

Kept apart from the suites themselves so that the command line can list the choices without
importing Schemathesis and Hypothesis (which `serve` would otherwise pay for at every start).
"""

from __future__ import annotations

from dataclasses import dataclass

SUITES = ("schema", "properties", "stateful")
PHASES = ("examples", "coverage", "fuzzing", "stateful")  # Schemathesis's, in its order


@dataclass(frozen=True)
class Profile:
    """How much each suite generates; `--max-examples` overrides the example counts."""

    schema_examples: int
    schema_steps: int
    property_examples: int
    machine_examples: int
    machine_steps: int


PROFILES = {
    "default": Profile(
        schema_examples=100,
        schema_steps=8,
        property_examples=12,
        machine_examples=25,
        machine_steps=25,
    ),
    "quick": Profile(
        schema_examples=8,
        schema_steps=5,
        property_examples=4,
        machine_examples=10,
        machine_steps=15,
    ),
}
