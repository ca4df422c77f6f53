"""The suite against servers that are flaky, throttled, broken on one operation, or interrupted:
always a report and a verdict, flaky failures told from reproducing ones, nothing left behind."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchworks_mock.app import create_app
from patchworks_mock.contract import outcomes, properties, report, runner, schema_suite, transport
from patchworks_mock.contract import schemathesis_internals as internals
from patchworks_mock.contract.api import Api
from patchworks_mock.contract.expectations import Violation
from patchworks_mock.contract.hypothesis_runs import NotReproduced, check_all
from patchworks_mock.contract.safety import Ledger
from patchworks_mock.contract.target import Target, TargetError, probe
from patchworks_mock.faults import FaultSettings, PlannedFault, RateLimit
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import serving
from tests.contract.support import UnderPrefix, run_suite


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch) -> None:
    """Retries as in a real run, without the real run's pauses between them."""
    monkeypatch.setattr(transport, "BACKOFF", 0.001)


def _ours(app, prefix: str = "pwcheck-") -> list[str]:
    return [p.name for p in app.state.store.packages.values() if p.name.startswith(prefix)]


def _statuses(results: list[report.Result]) -> set[str]:
    return {r.status for r in results}


# -- a flaky server ---------------------------------------------------------------------------


def test_a_flaky_server_gets_a_verdict_with_flaky_rows_and_exit_0() -> None:
    flaky_app = create_app(faults=FaultSettings(error_rate=0.1, seed=3))
    flaky_run = run_suite(
        flaky_app,
        suites=("schema", "properties"),
        operations=("getPackage", "createPackage"),
        properties=("crud_round_trip", "sort_order"),
    )
    assert flaky_run.code == 0, flaky_run.output
    assert "Traceback" not in flaky_run.output
    assert "CONFORMS" in flaky_run.output
    assert not flaky_run.failing(), flaky_run.output
    flaky = [r for r in flaky_run.results if r.status == report.FLAKY]
    assert {r.suite for r in flaky} >= {"schema", "network"}
    network = [r for r in flaky if r.suite == "network"]
    assert all("succeeded on retry after HTTP 50" in r.message for r in network)
    assert _ours(flaky_app) == []


def test_fail_on_flaky_makes_a_flaky_run_fail() -> None:
    app = create_app(faults=FaultSettings(error_rate=0.1, seed=3))
    options = {"suites": ("properties",), "properties": ("crud_round_trip",)}
    assert run_suite(app, **options).code == 0
    app = create_app(faults=FaultSettings(error_rate=0.1, seed=3))
    run = run_suite(app, fail_on_flaky=True, **options)
    assert report.FLAKY in _statuses(run.results)
    assert run.code == 1
    assert "DOES NOT CONFORM" in run.output


def test_an_operation_that_always_fails_with_500_is_a_failure_with_its_curl() -> None:
    app = create_app()
    app.state.planned_faults.append(
        PlannedFault(500, times=100_000, method="GET", path="/api/v1/packages/*")
    )
    run = run_suite(
        app,
        operations=("getPackage",),
        properties=("crud_round_trip",),
        suites=("schema", "properties"),
    )
    assert run.code == 1
    failed = [r for r in run.results if r.status == report.FAILED]
    assert ("GET /api/v1/packages/{package}", "not_a_server_error") in {r.key for r in failed}
    assert any(r.check == "crud_round_trip" for r in failed)
    assert all(r.curl.startswith("curl ") for r in failed)
    assert not any(r.status == report.FLAKY and r.suite == "schema" for r in run.results)


# -- the suite's own requests -------------------------------------------------------------------


class CountPosts:
    """Answers every POST with 503 and counts them; everything else goes to the mock."""

    def __init__(self) -> None:
        self.inner = create_app()
        self.state = self.inner.state
        self.posts = 0
        self.sent: list[tuple[str, bytes]] = []  # (path, body) of each POST

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            body, more = b"", True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            self.sent.append((scope["path"], body))
            body = json.dumps({"message": "Service Unavailable"}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.inner(scope, receive, send)


def test_a_post_that_got_an_answer_is_sent_once_over_real_http() -> None:
    app = CountPosts()
    with serving(app) as url, Target(url, DEVELOPMENT_KEY).client() as client:
        statuses = [Api(client).create({"name": f"pwcheck-x-{n}"}).status_code for n in range(3)]
    assert statuses == [503, 503, 503]
    assert app.posts == 3


def test_the_probe_proceeds_after_one_500() -> None:
    app = create_app()
    app.state.planned_faults.append(PlannedFault(500, method="GET", path="/api/v1/packages"))
    with serving(app) as url:
        target = Target(url, DEVELOPMENT_KEY)
        probe(target)
        assert len(app.state.journal.find("GET", "/api/v1/packages")) == 2
        assert len(target.network.flakes) == 1


def test_the_probe_gives_up_on_a_server_that_keeps_failing() -> None:
    app = create_app()
    app.state.planned_faults.append(PlannedFault(503, times=100, method="GET"))
    with serving(app) as url, pytest.raises(TargetError, match="HTTP 503"):
        probe(Target(url, DEVELOPMENT_KEY))


def _page(content_type: str, body: bytes) -> Starlette:
    """A server that answers every request with one page."""

    async def page(request: Request) -> Response:
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route("/{path:path}", page)])


def test_the_probe_wants_json_whatever_the_content_type_says() -> None:
    html = _page("text/html", b"<html>login</html>")
    with serving(html) as url, pytest.raises(TargetError, match="does not answer like"):
        probe(Target(url, DEVELOPMENT_KEY))
    with serving(_page("text/plain", b'{"data": []}')) as url:
        probe(Target(url, DEVELOPMENT_KEY))


def test_a_rate_limited_server_is_handled_with_no_429_failures() -> None:
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(requests=40, seconds=1)))
    run = run_suite(app, suites=("properties",), properties=("crud_round_trip",))
    assert run.code == 0, run.output
    assert not [r for r in run.results if "429" in r.message + r.actual]
    assert report.FLAKY not in _statuses(run.results)
    assert "throttled" in run.output


# -- clean-up -------------------------------------------------------------------------------------


def _created(client: httpx.Client, ledger: Ledger, count: int) -> list[str]:
    api = Api(client)
    return [ledger.record_created(api.create({"name": ledger.name(f"c{n}")})) for n in range(count)]


def test_clean_up_goes_on_through_503s_until_nothing_is_left() -> None:
    app = create_app()
    ledger = Ledger("clean")
    with serving(app) as url, Target(url, DEVELOPMENT_KEY).client() as client:
        _created(client, ledger, 3)
        app.state.planned_faults.append(PlannedFault(503, times=12, method="DELETE"))
        left = ledger.cleanup(client, sleep=lambda seconds: None)
    assert (left.remaining, left.interrupted) == ([], False)
    assert _ours(app, ledger.prefix) == []
    assert app.state.planned_faults == []  # every planned 503 was met on the way


def test_clean_up_that_runs_out_of_time_names_what_is_left() -> None:
    app = create_app()
    ledger = Ledger("stuck")
    with serving(app) as url, Target(url, DEVELOPMENT_KEY).client() as client:
        ids = _created(client, ledger, 2)
        app.state.planned_faults.append(PlannedFault(503, times=1000, method="DELETE"))
        left = ledger.cleanup(client, budget=5, sleep=lambda seconds: None)
        assert sorted(left.remaining) == sorted(ids)
        assert left.reason == "HTTP 503"
        # the deadline is kept between two deletes too, not only between rounds
        late = ledger.cleanup(client, budget=0, sleep=lambda seconds: None)
    assert (sorted(late.remaining), late.reason) == (sorted(ids), "out of time")


def test_a_second_ctrl_c_stops_the_clean_up_and_names_what_is_left() -> None:
    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    ledger = Ledger("ctrlc")
    ledger.record(41)
    client = httpx.Client(base_url="http://test", transport=httpx.MockTransport(interrupted))
    left = ledger.cleanup(client)
    assert (left.remaining, left.interrupted) == (["41"], True)


# -- Hypothesis's flaky failures, and the run's ending ------------------------------------------


def test_a_failure_hypothesis_cannot_replay_is_not_reproduced_not_flaky() -> None:
    calls = []

    def fails_first_time(value: int) -> None:
        calls.append(value)
        assert len(calls) > 1, "the first call fails"

    with pytest.raises(NotReproduced) as caught:
        check_all(st.integers(), fails_first_time, run_seed=1, examples=5)
    assert "the first call fails" in str(caught.value.first)


def _property(check) -> properties.Property:
    return properties.Property("planted", "GET /api/v1/packages", (), check)


def _planted(monkeypatch, check) -> None:
    monkeypatch.setattr(properties, "PROPERTIES", [_property(check)])


def test_a_property_that_did_not_replay_is_a_flaky_row(monkeypatch) -> None:
    def flaky(ctx) -> None:
        raise NotReproduced(AssertionError("the total was off by one"), "unreliable")

    _planted(monkeypatch, flaky)
    run = run_suite(suites=("properties",))
    [row] = [r for r in run.results if r.check == "planted"]
    assert row.status == report.FLAKY
    assert "the total was off by one" in row.message
    assert run.code == 0


def test_ctrl_c_still_cleans_up_and_prints_the_report_then_exits_130(monkeypatch) -> None:
    def interrupt(ctx) -> None:
        ctx.create("before-ctrl-c")
        raise KeyboardInterrupt

    _planted(monkeypatch, interrupt)
    app = create_app()
    run = run_suite(app, suites=("properties",))
    assert run.code == runner.INTERRUPTED
    assert "CONFORMS" in run.output
    assert _ours(app) == []


def test_a_server_that_stops_answering_still_gets_a_report_and_exit_2(monkeypatch, capsys) -> None:
    def gone(api, ledger, flows) -> None:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(runner, "scratch_packages", gone)
    run = run_suite(suites=("properties",))
    assert run.code == 2
    assert "DOES NOT CONFORM" in run.output
    assert "stopped answering" in capsys.readouterr().err
    assert "Traceback" not in run.output


# -- the schema suite's 5xx failures ------------------------------------------------------------


def _outcome(case_id: str, status: int, method: str = "GET") -> internals.CheckOutcome:
    request = internals.RecordedRequest(method, "http://test/api/v1/packages", {}, None)
    failure = internals.CheckFailure(
        "Server error",
        "",
        "curl -X GET http://test",
        internals.RecordedResponse(status, b""),
        request,
    )
    return internals.CheckOutcome(case_id, "GET /api/v1/packages", "not_a_server_error", failure)


def test_a_schema_failure_on_a_5xx_is_flaky_only_when_it_does_not_recur() -> None:
    asked = []

    def recurs(request: internals.RecordedRequest) -> bool:
        asked.append(request)
        return False

    flaky = schema_suite.results_of([_outcome("a", 503), _outcome("a", 503)], recurs)
    assert [r.status for r in flaky] == [report.FLAKY, report.FLAKY]
    assert len(asked) == 1  # once per request
    failed = schema_suite.results_of([_outcome("b", 500)], lambda request: True)
    assert [r.status for r in failed] == [report.FAILED]
    not_noise = schema_suite.results_of([_outcome("c", 422)], lambda request: False)
    assert [r.status for r in not_noise] == [report.FAILED]


def test_a_schema_post_that_met_a_5xx_is_never_sent_again_only_new_ones_like_it() -> None:
    app = CountPosts()
    ledger = Ledger("resend")
    for package in ("5", "7", "8"):
        ledger.record(package)
    original = json.dumps({"name": f"{ledger.prefix}digits 123", "notes": "n"}).encode()
    with serving(app) as url, Target(url, DEVELOPMENT_KEY).client() as client:

        def post(path: str, body: bytes) -> internals.RecordedRequest:
            return internals.RecordedRequest("POST", f"{url}{path}", {}, body)

        # every new create like it meets a 503 too: it recurs
        assert schema_suite.reproduces(client, ledger, post("/api/v1/packages", original))
        add = post("/api/v1/packages/5/flow-versions/3", b'{"priority": 7}')
        assert schema_suite.reproduces(client, ledger, add)
        odd = post("/api/v1/packages/5/flow-versions/\x1d", b"{}")  # as Schemathesis sent it
        assert schema_suite.reproduces(client, ledger, odd)
        # a create with no name to vary is not sent again: whether it recurs is not known
        assert schema_suite.reproduces(client, ledger, post("/api/v1/packages", b"{}")) is None
        get = internals.RecordedRequest("GET", f"{url}/api/v1/packages", {}, None)
        assert schema_suite.reproduces(client, ledger, get) is False
        # a control character Schemathesis sent in a path goes again percent-encoded, as then
        odd = internals.RecordedRequest("GET", f"{url}/api/v1/packages/\x1d 1", {}, None)
        assert schema_suite.reproduces(client, ledger, odd) is False
    creates = [json.loads(body) for path, body in app.sent if path == "/api/v1/packages"]
    assert [c["name"] for c in creates] == [
        "pwcheck-resend-r1-digits 123",
        "pwcheck-resend-r2-digits 123",
    ]
    assert all(c["notes"] == "n" for c in creates)
    adds = [(path, body) for path, body in app.sent if path != "/api/v1/packages"]
    assert adds == [
        ("/api/v1/packages/8/flow-versions/3", b'{"priority": 7}'),
        ("/api/v1/packages/7/flow-versions/3", b'{"priority": 7}'),
        ("/api/v1/packages/8/flow-versions/\x1d", b"{}"),
        ("/api/v1/packages/7/flow-versions/\x1d", b"{}"),
    ]
    assert ("/api/v1/packages", original) not in app.sent
    assert len(app.sent) == 3 * schema_suite.RESENDS


def test_an_unconfirmed_5xx_fails_unless_the_server_showed_noise_elsewhere() -> None:
    unknown = schema_suite.results_of([_outcome("a", 503)], lambda request: None)
    assert [(r.status, r.unconfirmed) for r in unknown] == [(report.FAILED, True)]
    outcomes.settle_unconfirmed(unknown)
    assert unknown[0].status == report.FAILED  # nothing else suggests noise: a failure
    noisy = [*schema_suite.results_of([_outcome("b", 503)], lambda request: None)]
    noisy.append(report.Result("network", "GET /api/v1/packages", "recovered", report.FLAKY))
    outcomes.settle_unconfirmed(noisy)
    assert noisy[0].status == report.FLAKY
    assert noisy[0].message.startswith("not checked again, on a server whose 5xx came and went")


def test_a_bug_of_the_suite_is_an_error_row_not_a_traceback(monkeypatch) -> None:
    def bug(ctx) -> None:
        raise RuntimeError("a bug")

    _planted(monkeypatch, bug)
    run = run_suite(suites=("properties",))
    assert run.code == 1
    assert ("(suite)", "internal") in run.failing_pairs()
    assert "DOES NOT CONFORM" in run.output


def test_ctrl_c_while_probing_exits_130_without_a_traceback(monkeypatch, capsys) -> None:
    def interrupted(target) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "probe", interrupted)
    code, results = runner.execute(runner.Options(url="http://127.0.0.1:9", api_key="k"))
    assert (code, results) == (runner.INTERRUPTED, [])
    assert "interrupted" in capsys.readouterr().err


def test_a_rerun_names_its_packages_afresh_and_the_clean_up_still_finds_them() -> None:
    ledger = Ledger("abc")
    with ledger.rerun(1):
        name = ledger.name("page-01")
    assert (name, ledger.name("page-01")) == ("pwcheck-abc-r1-page-01", "pwcheck-abc-page-01")
    with serving(create_app()) as url, Target(url, DEVELOPMENT_KEY).client() as client:
        Api(client).create(
            {"name": name}
        )  # not recorded: the sweep under the run's prefix finds it
        left = ledger.cleanup(client)
        listed = Api(client).list({"filter[name]": "pwcheck-abc"}).json()["data"]
    assert (left.remaining, listed) == ([], [])


def _failing_on_creates(names: list[str]) -> properties.Property:
    """A property whose attempt N fails on a 500 to the create of `names[N]`."""
    attempts = iter(names)

    def check(ctx: properties.Context) -> None:
        body = json.dumps({"name": ctx.ledger.name(next(attempts))}).encode()
        request = httpx.Request("POST", "http://127.0.0.1:9/api/v1/packages", content=body)
        raise Violation("creating a package failed", httpx.Response(500, request=request))

    return properties.Property("made_up", "GET /api/v1/packages", ("write",), check)


@pytest.mark.parametrize(
    ("names", "status"),
    [
        (["page-00", "page-00", "page-00"], report.FAILED),  # the same create, every run
        (["page-04", "page-02", "page-00"], report.FLAKY),  # another one each run: noise
    ],
)
def test_a_property_failing_on_a_post_5xx_is_run_again_and_judged_by_the_request(
    names, status
) -> None:
    with httpx.Client() as client:
        ctx = properties.Context(Target("http://127.0.0.1:9", "k"), Ledger("abc"), client, 1, 1)
        result = outcomes.property_result(_failing_on_creates(names), ctx)
    assert result.status == status, result.message


def test_a_recheck_under_a_path_prefix_records_what_it_creates() -> None:
    ledger = Ledger("prefix")
    body = json.dumps({"name": ledger.name("again")}).encode()
    with (
        serving(UnderPrefix(create_app())) as url,
        Target(url + "/prefix", DEVELOPMENT_KEY).client() as client,
    ):
        post = internals.RecordedRequest("POST", f"{url}/prefix/api/v1/packages", {}, body)
        assert schema_suite.reproduces(client, ledger, post) is False  # created: no 5xx again
    assert len(ledger.owned()) == 1  # and recorded, for the clean-up


def test_flow_versions_are_learnt_through_a_flaky_server_and_a_wrong_one_is_named() -> None:
    app = create_app()
    ledger = Ledger("discover")
    app.state.planned_faults.append(
        PlannedFault(503, times=1, method="POST", path="/api/v1/packages")
    )
    app.state.planned_faults.append(
        PlannedFault(500, times=1, method="POST", path="*/flow-versions/*")
    )
    with serving(app) as url, Target(url, DEVELOPMENT_KEY).client() as client:
        flows, problems = runner.discover_flows(Api(client), ledger, ["1", "4", "999"])
    assert set(flows) == {"1", "4"}
    assert problems == ["--flow-version 999: HTTP 404"]
    assert _ours(app, ledger.prefix) == []  # the packages it used are gone


def test_deploys_are_skipped_with_the_reason_when_no_flow_version_could_be_used() -> None:
    target = Target("http://127.0.0.1:9", "k", allow_deploy=True, virtual_environments=["1"])
    target.flow_versions = ["7"]
    deploy = next(p for p in properties.PROPERTIES if p.name == "deploy_lifecycle")
    assert "none of the --flow-version ids could be used" in runner._skip_reason(deploy, target, {})


def test_a_misuse_of_hypothesis_is_the_suites_error_not_the_servers() -> None:
    def misuse(ctx: properties.Context) -> None:
        ctx.run(st.sampled_from([]), lambda value: None)

    with httpx.Client() as client:
        ctx = properties.Context(Target("http://127.0.0.1:9", "k"), Ledger("h"), client, 1, 1)
        result = outcomes.property_result(properties.Property("x", "op", (), misuse), ctx)
    assert (result.status, result.message[:26]) == (report.ERROR, "the suite itself failed: I")
