"""The retrying transport, on scripted answers: what it retries, how long it waits, and what
it keeps."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from patchworks_mock.contract.expectations import Violation, expect_status
from patchworks_mock.contract.transport import (
    AFTER_FAILURES,
    MAX_WAIT,
    Record,
    RetryingTransport,
    retry_after,
)

Answer = httpx.Response | Exception


class Script:
    """An inner transport that gives the scripted answers in turn (the last one forever)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(
    script: Script,
    slept: list[float],
    pace: Callable[[], httpx.Request] | None = None,
    record: Record | None = None,
) -> tuple[httpx.Client, RetryingTransport]:
    transport = RetryingTransport(
        httpx.MockTransport(script), pace=pace, record=record, sleep=slept.append
    )
    return httpx.Client(base_url="http://test", transport=transport), transport


def _status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, json={"message": "x"}, headers=headers)


def test_a_get_that_meets_a_503_then_200_is_retried_and_kept_as_a_flake() -> None:
    script, slept = Script(_status(503), _status(500), _status(200)), []
    client, transport = _client(script, slept)
    assert client.get("/api/v1/packages/7").status_code == 200
    assert len(script.sent) == 3
    assert slept == [0.2, 0.4]
    [flake] = transport.record.flakes
    assert (flake.method, flake.path, flake.seen) == (
        "GET",
        "/api/v1/packages/7",
        ("HTTP 503", "HTTP 500"),
    )


def test_a_persistent_500_is_returned_after_every_attempt_and_is_no_flake() -> None:
    script, slept = Script(_status(500)), []
    client, transport = _client(script, slept)
    assert client.delete("/api/v1/packages/7").status_code == 500
    assert len(script.sent) == transport.attempts
    assert transport.record.flakes == []


def test_retry_after_is_honoured_on_429_and_503_and_429s_are_no_flakes() -> None:
    script, slept = (
        Script(
            _status(429, **{"Retry-After": "2"}), _status(503, **{"Retry-After": "1"}), _status(200)
        ),
        [],
    )
    client, transport = _client(script, slept)
    assert client.put("/api/v1/packages/7", json={}).status_code == 200
    assert slept == [2.0, 1.0]
    assert transport.record.throttled == 1
    assert [f.seen for f in transport.record.flakes] == [("HTTP 503",)]


def test_waiting_is_bounded_per_request() -> None:
    script, slept = Script(_status(429, **{"Retry-After": str(int(MAX_WAIT) + 1)})), []
    client, _ = _client(script, slept)
    assert client.get("/api/v1/packages").status_code == 429
    assert len(script.sent) == 1
    assert sum(slept) <= MAX_WAIT


@pytest.mark.parametrize("answer", [_status(503), _status(429, **{"Retry-After": "1"})])
def test_a_post_that_got_an_answer_is_never_sent_again(answer: httpx.Response) -> None:
    script, slept = Script(answer, _status(201)), []
    client, transport = _client(script, slept)
    assert client.post("/api/v1/packages", json={"name": "a"}).status_code == answer.status_code
    assert len(script.sent) == 1
    assert transport.record.flakes == []


def test_a_post_that_timed_out_is_not_sent_again() -> None:
    script, slept = Script(httpx.ReadTimeout("slow"), _status(201)), []
    client, _ = _client(script, slept)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/api/v1/packages", json={"name": "a"})
    assert len(script.sent) == 1


def test_a_post_that_never_connected_is_sent_again() -> None:
    script, slept = Script(httpx.ConnectError("refused"), _status(201)), []
    client, transport = _client(script, slept)
    assert client.post("/api/v1/packages", json={"name": "a"}).status_code == 201
    assert len(script.sent) == 2
    assert transport.record.flakes[0].seen == ("ConnectError",)


def test_a_get_that_times_out_is_retried_and_raises_when_it_persists() -> None:
    script, slept = Script(httpx.ReadTimeout("slow"), _status(200)), []
    client, _ = _client(script, slept)
    assert client.get("/api/v1/packages").status_code == 200
    script, slept = Script(httpx.ReadTimeout("slow")), []
    client, transport = _client(script, slept)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/api/v1/packages")
    assert len(script.sent) == transport.attempts


def test_a_spent_budget_with_a_reset_time_is_waited_for_before_the_next_request() -> None:
    script, slept = Script(_status(200, **{"X-RateLimit-Remaining": "0", "Retry-After": "3"})), []
    client, _ = _client(script, slept)
    client.get("/api/v1/packages")
    client.post("/api/v1/packages", json={"name": "a"})
    assert len(slept) == 1 and 2.5 < slept[0] <= 3.0


def test_a_spent_budget_without_a_time_is_learnt_with_a_get_before_a_post() -> None:
    spent = _status(200, **{"X-RateLimit-Remaining": "0"})
    throttled = _status(429, **{"Retry-After": "1"})
    script, slept = Script(spent, throttled, _status(200), _status(201)), []
    pace = lambda: httpx.Request("GET", "http://test/api/v1/packages")  # noqa: E731
    client, transport = _client(script, slept, pace=pace)
    client.get("/api/v1/packages")
    assert client.post("/api/v1/packages", json={"name": "a"}).status_code == 201
    assert [r.method for r in script.sent] == ["GET", "GET", "GET", "POST"]
    assert transport.record.throttled == 1


def test_clients_sharing_a_record_share_their_flakes() -> None:
    record = Record()
    for _ in range(2):
        client, _ = _client(Script(_status(503), _status(200)), [], record=record)
        client.get("/api/v1/packages")
    assert len(record.flakes) == 2


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:00:30 GMT"}, 20.0),
        ({"X-RateLimit-Reset": "25"}, 15.0),
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_retry_after_reads_seconds_dates_and_laravels_reset(headers, seconds) -> None:
    assert retry_after(_status(429, **headers), now=10.0) == seconds


def test_a_delete_that_finds_nothing_on_its_retry_was_done_by_its_first_attempt() -> None:
    script, slept = Script(_status(503), _status(404)), []
    client, _ = _client(script, slept)
    retried = client.delete("/api/v1/packages/7")
    assert retried.extensions[AFTER_FAILURES] == ("HTTP 503",)
    expect_status(retried, 200, "deleting failed")  # gone: the 503 came after the delete
    first_time = _client(Script(_status(404)), [])[0].delete("/api/v1/packages/7")
    assert AFTER_FAILURES not in first_time.extensions
    with pytest.raises(Violation):  # a 404 at the first attempt: it was never there
        expect_status(first_time, 200, "deleting failed")
