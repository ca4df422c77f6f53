"""The model-based state machine as the project's own test of the mock's rules, in-process."""

from __future__ import annotations

import httpx
import pytest
from hypothesis.errors import FlakyStrategyDefinition
from starlette.testclient import TestClient

from patchworks_mock.app import create_app
from patchworks_mock.contract import stateful
from patchworks_mock.contract.expectations import Assumptions, Violation
from patchworks_mock.contract.hypothesis_runs import NotReproduced
from patchworks_mock.contract.safety import Ledger
from patchworks_mock.instance import DEVELOPMENT_KEY
from tests.contract import broken


def _capabilities(app) -> stateful.Capabilities:
    store = app.state.store
    return stateful.Capabilities(
        flows={str(i): v.flow_id for i, v in store.flow_versions.items()},
        environments=[str(i) for i in store.virtual_environments],
        can_deploy=True,
    )


def _run(app, assumptions: Assumptions | None = None) -> None:
    with TestClient(app, headers={"Authorization": DEVELOPMENT_KEY}) as client:
        stateful.run(
            client,
            Ledger("model"),
            _capabilities(app),
            run_seed=7,
            examples=15,
            steps=20,
            assumptions=assumptions,
        )


def test_the_mock_follows_the_rules_of_the_model() -> None:
    assumptions = Assumptions()
    _run(create_app(), assumptions)
    assert assumptions.take() == []


@pytest.mark.parametrize("defect", [broken.priority_not_stored, broken.delete_keeps_package])
def test_the_model_notices_a_broken_rule(defect) -> None:
    with pytest.raises(Violation):
        _run(defect(create_app()))


@pytest.mark.parametrize(
    "defect", [broken.removal_allowed_after_deploy, broken.second_version_of_flow_accepted]
)
def test_the_model_keeps_a_decision_not_followed_and_goes_on(defect) -> None:
    assumptions = Assumptions()
    _run(defect(create_app()), assumptions)  # no Violation: the model takes the server's rule
    assert [a.message.endswith("api-notes decides 422") for a in assumptions.take()] == [True]


def test_a_sequence_that_did_not_replay_names_the_noise_it_met(monkeypatch) -> None:
    """Hypothesis keeps no failure for an inconsistent replay: the 5xx the run met is named."""
    client = httpx.Client(
        base_url="http://test",
        transport=httpx.MockTransport(lambda request: httpx.Response(503, json={})),
    )

    def flaky_machine(machine, settings) -> None:
        client.get("/api/v1/packages/7")
        raise FlakyStrategyDefinition("Inconsistent data generation!")

    monkeypatch.setattr(stateful, "run_state_machine_as_test", flaky_machine)
    capabilities = stateful.Capabilities(flows={}, environments=[], can_deploy=False)
    with pytest.raises(NotReproduced) as raised:
        stateful.run(client, Ledger("noise"), capabilities, run_seed=1, examples=1, steps=1)
    assert raised.value.detail == (
        "Inconsistent data generation! (the last answer that may have been noise: "
        "GET /api/v1/packages/7 -> 503)"
    )
