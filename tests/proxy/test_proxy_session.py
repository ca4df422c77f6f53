"""The proxy in front of a running mock: valid traffic passes unjudged-against, bad requests
are reported (and with --errors refused before the upstream), answers come back as sent."""

from __future__ import annotations

import asyncio
import json
import random

import httpx

from patchworks_mock.app import create_app
from patchworks_mock.contract import report
from patchworks_mock.proxy.har import HarRecorder
from patchworks_mock.proxy.observed import ObservedState, write_document
from tests.proxy.support import KEY, VIOLATIONS, journal, mock_and_proxy, served, valid_session
from tests.proxy.test_har import valid_har


def test_a_valid_session_through_every_operation_breaks_nothing() -> None:
    with (
        mock_and_proxy() as (_, proxy_url, app),
        httpx.Client(base_url=proxy_url, headers=KEY) as client,
    ):
        answers = valid_session(client)
        entries = journal(proxy_url)
    statuses = {answer.status_code for answer in answers}
    assert {200, 201, 401, 404, 422} <= statuses  # the domain's refusals were met too
    assert [a.request.url.path for a in answers if VIOLATIONS in a.headers] == []
    assert len(entries) == len(answers)
    assert [e for e in entries if e["verdict"] != "conforms"] == []
    results = app.watch.results()
    assert report.failures(results) == []
    judged = {r.operation for r in results if r.status == report.PASSED}
    assert len(judged) >= 12  # the 11 operations and the login


JSON = {**KEY, "Content-Type": "application/json"}
TEXT = {**KEY, "Content-Type": "text/plain"}
BAD_REQUESTS = [
    # (method, path, headers, body, the mock's status, words of its message)
    ("GET", "/api/v1/packages", {}, None, 401, "Unauthenticated."),
    ("GET", "/api/v1/packages?page=0", KEY, None, 422, "page field must be at least 1"),
    ("GET", "/api/v1/packages?sort=bogus", KEY, None, 400, "`bogus`"),
    ("GET", "/api/v1/packages?filter[nmae]=x", KEY, None, 400, "filter(s) `nmae`"),
    ("POST", "/api/v1/packages", JSON, b'{"name', 400, "not valid JSON"),
    ("POST", "/api/v1/packages", TEXT, b"name", 415, "Unsupported"),
    ("POST", "/api/v1/packages", KEY, {"name": "x" * 256}, 422, "255 characters"),
    ("PUT", "/api/v1/packages/1", KEY, {"notes": 5}, 422, "notes field must be a string"),
    ("POST", "/api/v1/packages/3/flow-versions/1", KEY, {"priority": 101}, 422, "priority"),
]


def _send(client: httpx.Client, method: str, path: str, headers: dict, body) -> httpx.Response:
    if isinstance(body, dict):
        return client.request(method, path, headers=headers, json=body)
    return client.request(method, path, headers=headers, content=body)


def test_requests_the_contract_refuses_are_reported_and_forwarded() -> None:
    with mock_and_proxy() as (mock_url, proxy_url, _), httpx.Client(base_url=proxy_url) as client:
        answers = [_send(client, m, p, h, b) for m, p, h, b, _, _ in BAD_REQUESTS]
        entries = journal(proxy_url)
        reached = httpx.get(f"{mock_url}/__mock__/requests", headers=KEY).json()["data"]
    for answer, (method, path, _, _, status, words), entry in zip(
        answers, BAD_REQUESTS, entries, strict=True
    ):
        assert answer.status_code == status, (method, path, answer.text)  # the mock's own
        assert answer.headers.get(VIOLATIONS) == "1", (method, path, answer.headers)
        assert entry["forwarded"] is True
        [violation] = entry["violations"]
        assert violation["check"] == "request_conforms"
        assert words in violation["message"], (violation, words)
    assert len(reached) == len(BAD_REQUESTS)  # all of them reached the upstream


def test_a_request_refused_only_by_a_decision_is_an_assumption() -> None:
    with mock_and_proxy() as (_, proxy_url, app):
        answer = httpx.get(f"{proxy_url}/api/v1/packages?per_page=500", headers=KEY)
        [entry] = journal(proxy_url)
    assert answer.status_code == 422 and VIOLATIONS not in answer.headers
    assert entry["verdict"] == "conforms" and entry["violations"] == []
    assert [a["check"] for a in entry["assumptions"]] == ["request_conforms"]
    assert report.failures(app.watch.results()) == []


def test_with_errors_a_refused_request_never_reaches_the_upstream() -> None:
    with (
        mock_and_proxy(answer_refusals=True) as (mock_url, proxy_url, _),
        httpx.Client(base_url=proxy_url) as client,
    ):
        answers = [_send(client, m, p, h, b) for m, p, h, b, _, _ in BAD_REQUESTS]
        good = client.get("/api/v1/packages/1", headers=KEY)
        entries = journal(proxy_url)
        reached = httpx.get(f"{mock_url}/__mock__/requests", headers=KEY).json()["data"]
    for answer, (method, path, _, _, status, words) in zip(answers, BAD_REQUESTS, strict=True):
        assert answer.status_code == status, (method, path, answer.text)
        assert words in answer.json()["message"]
        assert answer.headers[VIOLATIONS] == "1"
    assert [e["forwarded"] for e in entries] == [False] * len(BAD_REQUESTS) + [True]
    assert good.status_code == 200 and VIOLATIONS not in good.headers
    assert [(r["method"], r["path"]) for r in reached] == [("GET", "/api/v1/packages/1")]


def test_a_server_that_accepts_what_the_contract_refuses_is_reported() -> None:
    from tests.contract import broken

    with mock_and_proxy(broken.name_truncated(create_app())) as (_, proxy_url, app):
        answer = httpx.post(f"{proxy_url}/api/v1/packages", headers=KEY, json={"name": "n" * 300})
    assert answer.status_code == 201
    assert answer.headers[VIOLATIONS] == "2"  # the request, and the server's acceptance of it
    checks = {r.check for r in report.failures(app.watch.results())}
    assert checks == {"request_conforms", "refuses_what_the_contract_refuses"}


def test_paths_outside_the_contract_are_forwarded_and_only_a_405_is_judged() -> None:
    with (
        mock_and_proxy() as (_, proxy_url, app),
        httpx.Client(base_url=proxy_url, headers=KEY) as client,
    ):
        other = client.get("/api/v1/flows")
        method = client.patch("/api/v1/packages/1", json={})
        entries = journal(proxy_url)
    assert other.status_code == 404 and method.status_code == 405  # the upstream's answers
    assert VIOLATIONS not in other.headers and VIOLATIONS not in method.headers
    # another path is not the contract's; another method on its path gets a 405 with Allow
    assert [e["verdict"] for e in entries] == ["not in the contract", "conforms"]
    assert report.failures(app.watch.results()) == []
    assert ("(other methods)", "allow_header") in {r.key for r in app.watch.results()}


def test_the_proxy_endpoints_need_the_proxy_key_and_are_never_forwarded() -> None:
    with mock_and_proxy(keys=frozenset({"proxy-key"})) as (mock_url, proxy_url, _):
        refused = httpx.get(f"{proxy_url}/__mock__/requests", headers=KEY)
        health = httpx.get(f"{proxy_url}/__mock__/health", headers={"Authorization": "proxy-key"})
        unknown = httpx.get(f"{proxy_url}/__mock__/state", headers={"Authorization": "proxy-key"})
        wrong = httpx.put(f"{proxy_url}/__mock__/health", headers={"Authorization": "proxy-key"})
        cleared = httpx.delete(
            f"{proxy_url}/__mock__/requests", headers={"Authorization": "proxy-key"}
        )
        reached = httpx.get(f"{mock_url}/__mock__/requests", headers=KEY).json()["data"]
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthenticated."}
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert unknown.status_code == 404 and wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert cleared.status_code == 200
    assert reached == []


def _all_packages(client: httpx.Client) -> list[dict]:
    page = client.get("/api/v1/packages", params={"per_page": 100, "include": "flowVersions"})
    return [
        {
            "id": p["id"],
            "name": p["name"],
            "notes": p["notes"],
            "versions": {v["id"]: v["pivot"]["priority"] for v in p["flow_versions"]},
        }
        for p in page.json()["data"]
    ]


def test_fixtures_out_lists_what_the_upstream_listed_at_the_end(tmp_path) -> None:
    observed = ObservedState()
    with (
        mock_and_proxy(observed=observed) as (mock_url, proxy_url, _),
        httpx.Client(base_url=proxy_url, headers=KEY) as client,
    ):
        valid_session(client)
        with httpx.Client(base_url=mock_url, headers=KEY) as direct:
            upstream_listed = _all_packages(direct)
    path = tmp_path / "seen.json"
    write_document(observed.document(), path)
    with (
        served(create_app(json.loads(path.read_text()))) as again,
        httpx.Client(base_url=again.url, headers=KEY) as client,
    ):
        assert _all_packages(client) == upstream_listed


def test_record_writes_a_valid_har_of_the_session_without_credentials(tmp_path) -> None:
    path = tmp_path / "session.har"
    har = HarRecorder(path)
    with (
        mock_and_proxy(har=har) as (_, proxy_url, _app),
        httpx.Client(base_url=proxy_url, headers=KEY) as client,
    ):
        answers = valid_session(client)
        client.get("/api/v1/packages", headers={"Authorization": ""})  # a request violation
    har.write()
    document = valid_har(path)
    entries = document["log"]["entries"]
    assert [(e["request"]["method"], e["response"]["status"]) for e in entries[:-1]] == [
        (a.request.method, a.status_code) for a in answers
    ]
    assert entries[-1]["comment"] == "patchworks-mock proxy: 1 violation"
    text = path.read_text()
    token = next(a for a in answers if a.request.url.path == "/fabric/api/login").json()["token"]
    for secret in ("patchworks-mock-key", "correct-horse", token):
        assert secret not in text


def test_a_bug_of_the_proxy_is_a_500_and_a_line_never_a_traceback(caplog) -> None:
    with mock_and_proxy() as (_, proxy_url, app):

        async def broken(*args, **kwargs):
            raise RuntimeError("a bug")

        app.gate.judge = broken  # type: ignore[method-assign]
        answer = httpx.get(f"{proxy_url}/api/v1/packages/1", headers=KEY)
        after = httpx.get(f"{proxy_url}/__mock__/health", headers=KEY)
    assert answer.status_code == 500 and answer.json() == {"message": "Server Error"}
    assert after.status_code == 200  # it keeps serving
    [line] = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert "RuntimeError('a bug')" in line.getMessage() and line.exc_info is None


def test_a_check_that_fails_leaves_the_upstreams_answer_as_it_was(caplog) -> None:
    with mock_and_proxy() as (_, proxy_url, app):

        def broken(*args, **kwargs):
            raise RuntimeError("a bug")

        app.watch.observer.observe = broken  # type: ignore[method-assign]
        answer = httpx.post(f"{proxy_url}/api/v1/packages", headers=KEY, json={"name": "Kept"})
        entries = journal(proxy_url)
    assert answer.status_code == 201 and answer.json()["data"]["name"] == "Kept"
    assert entries[0]["verdict"].startswith("not checked: a check failed")
    [line] = [r for r in caplog.records if "a check failed" in r.getMessage()]
    assert line.exc_info is None


def test_a_gzip_answer_is_judged_on_its_decoded_body_and_handed_on_encoded() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    from tests.contract import broken

    upstream = GZipMiddleware(broken.list_ids_as_strings(create_app()), minimum_size=10)
    gzip = {**KEY, "Accept-Encoding": "gzip"}
    with (
        mock_and_proxy(upstream) as (_, proxy_url, app),
        httpx.Client() as client,
        client.stream("GET", f"{proxy_url}/api/v1/packages", headers=gzip) as answer,
    ):
        raw = b"".join(answer.iter_raw())
    assert answer.headers["content-encoding"] == "gzip" and raw[:2] == b"\x1f\x8b"
    assert answer.headers[VIOLATIONS] != "0"
    assert "response_schema" in {r.check for r in report.failures(app.watch.results())}


async def _login_everyone(scope, receive, send) -> None:
    """An upstream that logs anyone in, however the login is sent."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = json.dumps({"message": "ok", "token": "SECRET-TOKEN-123", "expires_in": 86400})
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def test_no_password_or_token_reaches_the_log_the_journal_or_the_report(caplog, tmp_path) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with mock_and_proxy(_login_everyone) as (_, proxy_url, app), httpx.Client() as client:
        login = f"{proxy_url}/fabric/api/login"
        client.post(login, headers=form, content="username=a%40b.c&password=hunter2-form")
        client.post(login, json={"username": "a@b.c", "password": "hunter2-json", "extra": 1})
        client.post(login, content=b'{"username": "a@b.c", "password": "hunter2-broken"')
        logged = journal(proxy_url)
    results = app.watch.results()
    report.write_markdown(results, str(tmp_path / "r.md"), target="t", seed=None, seconds=1)
    report.write_junit(results, str(tmp_path / "j.xml"), seed=None)
    shown = [
        caplog.text,
        json.dumps(logged),
        "\n".join(report.report_lines(results)),
        (tmp_path / "r.md").read_text(),
        (tmp_path / "j.xml").read_text(),
    ]
    assert report.failures(results)  # the logins broke the contract, and were reported
    for text in shown:
        assert "hunter2" not in text and "SECRET-TOKEN-123" not in text


class LateAnswers:
    """A correct mock that holds each answer 0–30 ms after doing the work: concurrent
    requests are answered in another order than they were done."""

    def __init__(self, app) -> None:
        self.app, self.state, self.random = app, app.state, random.Random(7)

    async def __call__(self, scope, receive, send) -> None:
        async def late(message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(self.random.random() * 0.03)
            await send(message)

        await self.app(scope, receive, late)


def test_concurrent_requests_of_one_client_are_not_judged_against_each_other() -> None:
    async def session(proxy_url: str) -> None:
        async with httpx.AsyncClient(base_url=proxy_url, headers=KEY) as client:
            for round_ in range(20):
                await asyncio.gather(
                    client.put("/api/v1/packages/2", json={"name": f"Renamed {round_}"}),
                    client.get("/api/v1/packages/2"),
                    client.get("/api/v1/packages", params={"per_page": 100}),
                )

    with mock_and_proxy(LateAnswers(create_app())) as (_, proxy_url, app):
        asyncio.run(session(proxy_url))
        entries = journal(proxy_url)
    assert len(entries) == 60
    assert [e for e in entries if e["violations"]] == []
    assert report.failures(app.watch.results()) == []


class SlowReads:
    """A correct mock that holds every GET's answer 100 ms after reading the state."""

    def __init__(self, app) -> None:
        self.app, self.state = app, app.state

    async def __call__(self, scope, receive, send) -> None:
        async def late(message) -> None:
            if message["type"] == "http.response.start" and scope.get("method") == "GET":
                await asyncio.sleep(0.1)
            await send(message)

        await self.app(scope, receive, late)


def test_a_read_answered_after_a_delete_it_overlapped_is_not_judged_against_it() -> None:
    async def session(proxy_url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=proxy_url, headers=KEY) as client:
            created = await client.post("/api/v1/packages", json={"name": "Short-lived"})
            path = f"/api/v1/packages/{created.json()['data']['id']}"
            read = asyncio.create_task(client.get(path))  # reads the package, answers late
            await asyncio.sleep(0.03)
            deleted = await client.delete(path)  # done and answered meanwhile
            return [(await read).status_code, deleted.status_code]

    with mock_and_proxy(SlowReads(create_app())) as (_, proxy_url, app):
        assert asyncio.run(session(proxy_url)) == [200, 200]
        entries = journal(proxy_url)
    assert [e["method"] for e in entries] == ["POST", "DELETE", "GET"]  # judged in that order
    assert [e for e in entries if e["violations"]] == []
