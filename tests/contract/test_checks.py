"""The checks of every answer (`contract/checks.py`) on hand-made exchanges, and the observer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from starlette.datastructures import URL

from patchworks_mock import render
from patchworks_mock.app import create_app
from patchworks_mock.contract import checks, report
from patchworks_mock.contract.exchange import Exchange, from_httpx, from_schemathesis
from patchworks_mock.contract.observer import Observer
from patchworks_mock.contract.reading import Finding, PackageState, Seen
from patchworks_mock.contract.rules import php_int, validation_message
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import serving
from tests.contract import broken
from tests.contract.support import UnderPrefix, run_suite

BASE = "http://127.0.0.1:8000"
AT = "2026-11-28T06:57:00.000000Z"
LIST = "/api/v1/packages"


def exchange(
    method: str,
    path: str,
    status: int = 200,
    body: Any = None,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    sent: Any = None,
) -> Exchange:
    """An exchange with a JSON answer (`body`) to `method path?query` (with JSON `sent`)."""
    return Exchange(
        method=method,
        url=f"{BASE}{path}" + (f"?{query}" if query else ""),
        request_headers={"accept": "application/json"},
        request_body=b"" if sent is None else json.dumps(sent).encode(),
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        body=b"" if body is None else json.dumps(body).encode(),
    )


def messages(found: list[Finding] | None) -> list[str]:
    assert found is not None, "the check did not apply"
    return [f.message for f in found]


def version(number: int, flow: int, package: int | None = None, priority: int = 50) -> dict:
    row: dict[str, Any] = {
        "id": number,
        "flow_id": flow,
        "flow_name": f"flow {flow}",
        "iteration": 1,
        "status": "draft",
        "created_at": AT,
        "updated_at": AT,
    }
    if package is not None:
        row["pivot"] = {"package_id": package, "flow_version_id": number, "priority": priority}
    return row


def package(number: int, members: list[dict] | None = None) -> dict:
    body: dict[str, Any] = {
        "id": number,
        "name": "p",
        "notes": None,
        "created_by_id": 1,
        "created_at": AT,
        "updated_at": AT,
    }
    if members is not None:
        body["flow_versions"] = members
    return body


# -- content type ----------------------------------------------------------------------------------


def test_json_under_another_content_type_is_a_finding() -> None:
    good = exchange("GET", "/api/v1/packages/1", body={"data": package(1)})
    html = exchange(
        "GET",
        "/api/v1/packages/1",
        body={"data": package(1)},
        headers={"content-type": "text/html"},
    )
    page = Exchange("GET", BASE + "/", {}, b"", 200, {"content-type": "text/html"}, b"<html>")
    assert checks.json_content_type(good, Seen()) == []
    assert "'text/html'" in messages(checks.json_content_type(html, Seen()))[0]
    assert checks.json_content_type(page, Seen()) is None  # not JSON: not this check's part


# -- compare ---------------------------------------------------------------------------------------


def compare_row(package_version: dict, live: dict | None, in_sync: bool) -> dict:
    return {
        "flow_id": package_version["flow_id"],
        "flow_name": package_version["flow_name"],
        "package_version": package_version,
        "environment_version": live,
        "in_sync": in_sync,
    }


COMPARE = "/api/v1/packages/7/compare/2"


def test_compare_rows_agree_with_their_two_versions() -> None:
    rows = [
        compare_row(version(1, 10), version(1, 10), True),
        compare_row(version(2, 20), version(3, 20), False),
        compare_row(version(4, 40), None, False),
    ]
    assert checks.compare_rows(exchange("GET", COMPARE, body={"data": rows}), Seen()) == []


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (compare_row(version(4, 40), None, True), "in_sync is True"),
        (compare_row(version(2, 20), version(3, 20), True), "in_sync is True"),
        (compare_row(version(1, 10), version(1, 10), False), "in_sync is False"),
        ({**compare_row(version(1, 10), None, False), "flow_id": 11}, "flow_id is 11"),
        ({**compare_row(version(1, 10), None, False), "flow_name": "x"}, "flow_name is 'x'"),
        (compare_row(version(1, 10), version(5, 50), False), "belongs to flow 50"),
    ],
)
def test_a_compare_row_that_contradicts_itself_is_a_finding(row: dict, words: str) -> None:
    found = messages(checks.compare_rows(exchange("GET", COMPARE, body={"data": [row]}), Seen()))
    assert any(words in m for m in found), found


def test_a_flow_compared_twice_is_a_finding() -> None:
    rows = [compare_row(version(1, 10), None, False), compare_row(version(2, 10), None, False)]
    found = messages(checks.compare_rows(exchange("GET", COMPARE, body={"data": rows}), Seen()))
    assert found == ["flows listed twice: 10"]


def test_compare_covers_every_flow_the_package_was_last_seen_with() -> None:
    seen = Seen({"7": PackageState(members={1: 50, 2: None})})
    both = [compare_row(version(1, 10), None, False), compare_row(version(2, 20), None, False)]
    assert checks.compare_covers_package(exchange("GET", COMPARE, body={"data": both}), seen) == []
    one = exchange("GET", COMPARE, body={"data": both[:1]})
    assert "the package holds ['1', '2']" in messages(checks.compare_covers_package(one, seen))[0]
    assert checks.compare_covers_package(one, Seen()) is None  # members not known: no verdict


# -- pagination ------------------------------------------------------------------------------------


def page(total: int, per_page: int, current: int, query: str = "", rows: int | None = None) -> dict:
    """LengthAwarePaginator's JSON for page `current`, links built from `query` as Laravel does."""
    last = max(-(-total // per_page), 1)
    path = BASE + LIST

    def url(number: int) -> str:
        return f"{path}?{query + '&' if query else ''}page={number}"

    count = max(min(per_page, total - (current - 1) * per_page), 0) if rows is None else rows
    first = (current - 1) * per_page + 1
    if last < 14:
        window: list[int | None] = list(range(1, last + 1))
    elif current <= 7:
        window = [*range(1, 11), None, last - 1, last]
    elif current > last - 7:
        window = [1, 2, None, *range(last - 9, last + 1)]
    else:
        window = [1, 2, None, *range(current - 3, current + 4), None, last - 1, last]
    prev = url(current - 1) if current > 1 else None
    following = url(current + 1) if current < last else None
    links = [{"url": prev, "label": "&laquo; Previous", "active": False}]
    links += [
        {"url": None, "label": "...", "active": False}
        if n is None
        else {"url": url(n), "label": str(n), "active": n == current}
        for n in window
    ]
    links.append({"url": following, "label": "Next &raquo;", "active": False})
    return {
        "data": [package(i + 1) for i in range(count)],
        "links": {"first": url(1), "last": url(last), "prev": prev, "next": following},
        "meta": {
            "current_page": current,
            "from": first if count else None,
            "last_page": last,
            "links": links,
            "path": path,
            "per_page": per_page,
            "to": first + count - 1 if count else None,
            "total": total,
        },
    }


QUERY = "filter%5Bname%5D=ab+c&per_page=3&sort=-name"


@pytest.mark.parametrize(("total", "current"), [(0, 1), (7, 1), (7, 3), (7, 5), (60, 1), (60, 9)])
def test_a_consistent_page_passes(total: int, current: int) -> None:
    seen = Seen()
    query = f"{QUERY}&page={current}"
    answer = exchange("GET", LIST, body=page(total, 3, current, QUERY), query=query)
    assert checks.page_arithmetic(answer, seen) == []
    assert checks.page_links(answer, seen) == []


def test_links_keep_what_php_keeps_of_the_query() -> None:
    """Trimmed values, blank ones dropped, the last of a repeated key: no finding."""
    query = "per_page=3&sort=name&sort=-name&filter%5Bname%5D=+ab+c+&include="
    body = page(7, 3, 1, QUERY)
    assert checks.page_links(exchange("GET", LIST, body=body, query=query), Seen()) == []


def test_page_arithmetic_findings() -> None:
    body = page(7, 3, 2, QUERY)
    body["meta"]["to"] += 1
    body["meta"]["last_page"] = 2
    found = messages(checks.page_arithmetic(exchange("GET", LIST, body=body, query=QUERY), Seen()))
    assert any("meta.from/to are 4/7" in m for m in found), found
    assert any("meta.last_page is 2" in m for m in found), found
    assert any("the request asked for page 1" in m for m in found), found
    short = page(7, 3, 1, QUERY, rows=2)
    found = messages(checks.page_arithmetic(exchange("GET", LIST, body=short, query=QUERY), Seen()))
    assert any("holds 2 rows" in m for m in found), found
    other = exchange("GET", LIST, body=page(7, 5, 1), query="per_page=%2B3")  # "+3" reads as 3
    assert "meta.per_page is 5; the request asked 3" in messages(
        checks.page_arithmetic(other, Seen())
    )


def test_links_that_lose_the_query_or_lead_elsewhere_are_findings() -> None:
    lost = exchange("GET", LIST, body=page(7, 3, 2, "per_page=3"), query=QUERY + "&page=2")
    found = messages(checks.page_links(lost, Seen()))
    assert any(m.startswith("links.first") and "keep the request" in m for m in found), found
    assert any(m.startswith("meta.links entry '2'") for m in found), found
    skipping = page(7, 3, 1, QUERY)
    skipping["links"]["next"] = skipping["links"]["next"].replace("page=2", "page=3")
    found = messages(checks.page_links(exchange("GET", LIST, body=skipping, query=QUERY), Seen()))
    assert any("links.next leads to page 3" in m for m in found), found
    assert any("meta.links' last entry" in m for m in found), found
    moved = page(7, 3, 1, QUERY)
    moved["meta"]["links"][1]["active"] = False
    moved["meta"]["links"][2]["active"] = True
    found = messages(checks.page_links(exchange("GET", LIST, body=moved, query=QUERY), Seen()))
    assert any("entry '2' has active True" in m for m in found), found


def test_the_page_window_marks_every_gap() -> None:
    body = page(60, 3, 9, QUERY)
    del body["meta"]["links"][3]  # the "..." between 2 and 6
    found = messages(checks.page_links(exchange("GET", LIST, body=body, query=QUERY), Seen()))
    assert 'meta.links skips from page 2 to 6 without "..."' in found


# -- fields pinned beyond their type ---------------------------------------------------------------


def test_timestamps_are_laravels_form() -> None:
    good = exchange("GET", "/api/v1/packages/1", body={"data": package(1, [version(2, 3, 1)])})
    assert checks.timestamps(good, Seen()) == []
    bad = package(1, [{**version(2, 3, 1), "updated_at": "2026-11-28T06:57:00Z"}])
    found = messages(
        checks.timestamps(exchange("GET", "/api/v1/packages/1", body={"data": bad}), Seen())
    )
    assert found == [
        "timestamps not in Laravel's form: updated_at='2026-11-28T06:57:00Z'",
    ]


def test_ids_are_positive() -> None:
    body = {"data": {**package(1), "created_by_id": 0}}
    found = messages(checks.positive_ids(exchange("GET", "/api/v1/packages/1", body=body), Seen()))
    assert found == ["ids below 1: created_by_id=0"]


def test_an_answer_is_about_what_its_path_names() -> None:
    same = exchange("GET", "/api/v1/packages/4", body={"data": package(4)})
    assert checks.answers_its_path(same, Seen()) == []
    other = exchange("GET", "/api/v1/packages/4", body={"data": package(5)})
    assert messages(checks.answers_its_path(other, Seen())) == [
        "the answer is about package 5, not 4"
    ]
    added = exchange("POST", "/api/v1/packages/4/flow-versions/9", body={"data": package(4, [])})
    assert "flow version 9 is not among" in messages(checks.answers_its_path(added, Seen()))[0]
    record = {"id": 1, "package_id": 4, "virtual_environment_id": 3, "user_id": 1, "notes": None}
    deploy = exchange("POST", "/api/v1/packages/4/deploy/2", body={"data": record})
    assert (
        "names package 4 and VE 3, not 4 and 2"
        in messages(checks.answers_its_path(deploy, Seen()))[0]
    )


def test_pivots_name_their_package_and_version() -> None:
    good = exchange("GET", "/api/v1/packages/4", body={"data": package(4, [version(2, 3, 4)])})
    assert checks.pivots_agree(good, Seen()) == []
    row = version(2, 3, 5)
    bad = exchange("GET", LIST, body={**page(1, 15, 1), "data": [package(4, [row])]})
    assert messages(checks.pivots_agree(bad, Seen())) == [
        "package 4, flow version 2: pivot names package 5 and flow version 2"
    ]


def test_location_is_the_new_packages_absolute_url() -> None:
    def created(location: str | None) -> Exchange:
        headers = {"location": location} if location else {}
        return exchange("POST", LIST, 201, {"data": package(8)}, headers=headers, sent={})

    assert checks.location_header(created(f"{BASE}/api/v1/packages/8"), Seen()) == []
    for wrong in ("/api/v1/packages/8", f"{BASE}/api/v1/packages/9", None):
        assert checks.location_header(created(wrong), Seen()), wrong
    assert checks.location_header(exchange("POST", LIST, 200, {"data": package(8)}), Seen()) is None


def not_found(path: str, message: str) -> Exchange:
    return exchange("GET", path, 404, {"message": message})


def test_not_found_names_the_model_and_id_of_the_path() -> None:
    seen = Seen(deleted={"5": None})
    package_zero = r"No query results for model [App\Models\Package] 0"
    environment = r"No query results for model [App\Models\VirtualEnvironment] 9"
    assert checks.not_found_message(not_found("/api/v1/packages/0", package_zero), seen) == []
    assert checks.not_found_message(not_found(COMPARE[:-1] + "9", environment), seen) == []
    wrong_id = not_found(COMPARE, r"No query results for model [App\Models\Package] 8")
    assert checks.not_found_message(wrong_id, seen)
    bare = r"No query results for model [Package] 5"
    assert checks.not_found_message(not_found("/api/v1/packages/5", bare), seen) == [
        Finding(
            "not_found_message",
            repr(bare),
            r"No query results for model [App\Models\Package] 5",
        )
    ]
    odd = not_found("/api/v1/packages/0/compare/a%0Ab", "The route could not be found.")
    assert checks.not_found_message(odd, seen) == []  # the router may not match such a path
    # Another 404 of a known package (a flow version not in it): not route-model binding's.
    message = {"message": "The flow version is not in it."}
    other = exchange("DELETE", "/api/v1/packages/7/flow-versions/3", 404, message)
    assert checks.not_found_message(other, seen) == []


def test_401_unauthenticated_422_summary_400_spatie_405_allow() -> None:
    get = "/api/v1/packages/1"
    right_401 = exchange("GET", get, 401, {"message": "Unauthenticated."})
    assert checks.unauthenticated_body(right_401, Seen()) == []
    assert checks.unauthenticated_body(exchange("GET", get, 401, {"message": "No."}), Seen())
    errors = {"name": ["The name field is required."], "notes": ["a", "b"]}
    right = {"message": "The name field is required. (and 2 more errors)", "errors": errors}
    assert checks.validation_summary(exchange("POST", LIST, 422, right), Seen()) == []
    generic = {"message": "The given data was invalid.", "errors": errors}
    assert checks.validation_summary(exchange("POST", LIST, 422, generic), Seen())
    spatie = "Requested sort(s) `colour` is not allowed. Allowed sort(s) are `name`."
    refused = exchange("GET", LIST, 400, {"message": spatie}, query="sort=colour")
    assert checks.query_not_allowed_message(refused, Seen()) == []
    reworded = exchange("GET", LIST, 400, {"message": "Bad."}, query="sort=colour")
    assert checks.query_not_allowed_message(reworded, Seen())
    # not spatie's to answer: no filter, sort or include asked; a 400 page of a proxy in front
    assert (
        checks.query_not_allowed_message(exchange("GET", LIST, 400, {"message": "Bad."}), Seen())
        is None
    )
    proxy = Exchange("GET", BASE + LIST + "?sort=name", {}, b"", 400, {}, b"<html>Header Too Large")
    assert checks.query_not_allowed_message(proxy, Seen()) is None
    allowed = exchange("TRACE", get, 405, {}, headers={"allow": "GET"})
    assert checks.allow_header(allowed, Seen()) == []
    assert checks.allow_header(exchange("TRACE", get, 405, {}), Seen())


def test_validation_message_and_php_integers() -> None:
    assert validation_message({"a": ["x"]}) == "x"
    assert validation_message({"a": ["x"], "b": ["y"]}) == "x (and 1 more error)"
    assert [php_int(t) for t in ("+1", " 2 ", "01", "1.0", "1e3", "-0")] == [
        1,
        2,
        None,
        None,
        None,
        0,
    ]
    assert php_int("9223372036854775808") is None
    assert php_int("1" * 5000) is None  # past PHP's range, and never int()'s digit limit


# -- against what the run saw ----------------------------------------------------------------------


def test_a_deleted_package_never_comes_back() -> None:
    seen = Seen(deleted={"5": None})
    back = exchange("GET", "/api/v1/packages/5", body={"data": package(5)})
    assert messages(checks.deleted_stays_deleted(back, seen)) == [
        "package 5 was deleted and is back"
    ]
    listed = exchange("GET", LIST, body={**page(1, 15, 1), "data": [package(5)]})
    assert checks.deleted_stays_deleted(listed, seen)
    # A server may give a freed id to a new package.
    assert (
        checks.deleted_stays_deleted(exchange("POST", LIST, 201, {"data": package(5)}), seen)
        is None
    )


def test_priorities_as_the_run_stored_them() -> None:
    seen = Seen()
    checks.run_checks(exchange("POST", LIST, 201, {"data": package(4)}), seen)
    add = "/api/v1/packages/4/flow-versions/2"
    stored = exchange(
        "POST", add, body={"data": package(4, [version(2, 3, 4, 80)])}, sent={"priority": 80}
    )
    assert dict(checks.run_checks(stored, seen))["priorities_as_stored"] == []
    assert seen.packages["4"].members == {2: 80}
    shown = exchange("GET", "/api/v1/packages/4", body={"data": package(4, [version(2, 3, 4, 50)])})
    found = messages(checks.priorities_as_stored(shown, seen))
    assert found == ["package 4 holds {2: 50} (flow version: priority)"]
    ignored = exchange(
        "POST", add, body={"data": package(4, [version(2, 3, 4, 80)])}, sent={"priority": "+7"}
    )
    assert messages(checks.priorities_as_stored(ignored, seen))


def test_a_write_that_failed_on_the_server_forgets_what_was_known() -> None:
    seen = Seen({"4": PackageState(members={})})
    checks.run_checks(exchange("POST", "/api/v1/packages/4/flow-versions/2", 503, {}), seen)
    assert seen.packages["4"].members is None


def test_removal_after_a_deploy_is_an_assumption_finding() -> None:
    seen = Seen()
    checks.run_checks(exchange("POST", "/api/v1/packages/4/deploy/1", body={"data": {}}), seen)
    removed = exchange("DELETE", "/api/v1/packages/4/flow-versions/2", body={"message": "ok"})
    found = checks.removal_after_deploy(removed, seen)
    assert found and found[0].assumption
    refused = exchange("DELETE", "/api/v1/packages/4/flow-versions/2", 422, {"message": "no"})
    assert checks.removal_after_deploy(refused, seen) == []


# -- exchanges and the observer --------------------------------------------------------------------


def test_an_exchange_from_httpx_and_from_schemathesis() -> None:
    request = httpx.Request("POST", BASE + "/api/v1/packages/3/flow-versions/4?x=1", json={"a": 1})
    response = httpx.Response(200, json={"data": {}}, request=request)
    made = from_httpx(response)
    assert made.operation == "POST /api/v1/packages/{package}/flow-versions/{flow_version}"
    assert made.params == {"package": "3", "flow_version": "4"}
    assert made.query == [("x", "1")]
    assert made.request_json == {"a": 1} and made.json == {"data": {}}
    sent = requests.Request("POST", str(request.url), json={"a": 1}).prepare()
    answer = schemathesis.Response(
        200, {"Content-Type": ["application/json"]}, response.content, sent, 0.1, True
    )
    other = from_schemathesis(answer)
    assert (other.method, other.url, other.status, other.body) == (
        made.method,
        made.url,
        made.status,
        made.body,
    )
    assert other.headers["content-type"] == "application/json"
    trace = Exchange("TRACE", BASE + "/api/v1/packages/3", {}, b"", 405, {}, b"")
    assert trace.operation == "(other methods)"


def test_the_observer_reports_failures_once_with_a_curl_and_passes_the_rest() -> None:
    observer = Observer("secret")
    bare = exchange("GET", "/api/v1/packages/1", 401, {"message": "No."})
    bare.request_headers["authorization"] = "secret"
    for _ in range(3):
        observer.observe(bare)
    observer.observe(exchange("GET", "/api/v1/packages/1", body={"data": package(1)}))
    results = observer.results()
    failed = [r for r in results if r.status == report.FAILED]
    assert [(r.check, r.operation) for r in failed] == [
        ("unauthenticated_body", "GET /api/v1/packages/{package}")
    ]
    assert "$PATCHWORKS_API_KEY" in failed[0].curl and "secret" not in failed[0].curl
    assert ("GET /api/v1/packages/{package}", "timestamps") in {
        r.key for r in results if r.status == report.PASSED
    }


def test_a_write_with_no_answer_forgets_what_was_known() -> None:
    observer = Observer()
    observer.seen.packages["4"] = PackageState(members={})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json={"data": package(4)})

    with httpx.Client(transport=httpx.MockTransport(handler), base_url=BASE) as client:
        observer.watch(client)
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v1/packages/4/flow-versions/2", json={})
        client.get("/api/v1/packages/4")
    assert observer.seen.packages["4"].members is None


# -- the suite, end to end -------------------------------------------------------------------------


def test_a_flow_version_removed_after_a_deploy_is_an_assumption() -> None:
    run = run_suite(
        broken.removal_allowed_after_deploy(create_app()),
        suites=("properties",),
        properties=("deploy_lifecycle",),
    )
    assert any(
        r.check == "removal_after_deploy" and r.status == report.ASSUMPTION for r in run.results
    ), run.output


def test_a_delete_answer_without_message_conforms() -> None:
    run = run_suite(
        broken.delete_answers_without_message(create_app()),
        suites=("schema",),
        operations=("createPackage", "deletePackage", "getPackage"),
        phases=("coverage", "stateful"),
    )
    assert run.code == 0, run.output
    assert any(r.operation.startswith("DELETE") for r in run.results if r.status == report.PASSED)


@pytest.mark.parametrize("total", [1, 45, 120])
def test_the_mocks_pages_pass_for_every_page(total: int) -> None:
    """Laravel's window ("..." entries with url null) as the mock renders it: no finding."""
    query = "filter%5Bname%5D=a&per_page=3&sort=-name"
    for current in range(1, total // 3 + 3):
        url = URL(f"{BASE}{LIST}?{query}&page={current}")
        body = render.paginated(
            [{}] * max(min(3, total - (current - 1) * 3), 0), total, current, 3, url
        )
        answer = exchange("GET", LIST, body=body, query=f"{query}&page={current}")
        assert checks.page_links(answer, Seen()) == [], current
        assert checks.page_arithmetic(answer, Seen()) == [], current


def test_the_checks_run_on_a_target_whose_url_has_a_path_prefix() -> None:
    with serving(UnderPrefix(create_app())) as url:
        run = run_suite(
            url=url + "/prefix",
            api_key=DEVELOPMENT_KEY,
            suites=("properties",),
            properties=("pagination", "crud_round_trip"),
        )
    assert run.code == 0, run.output
    ran = {(r.operation, r.check) for r in run.results if r.suite == "checks"}
    assert ("GET /api/v1/packages", "page_arithmetic") in ran, run.output
    assert ("POST /api/v1/packages", "location_header") in ran, run.output
    assert not [op for op, _ in ran if "prefix" in op], run.output


# -- other writers, and answers out of order -------------------------------------------------------

LATER = "2026-12-01T10:00:00.000000Z"


def _shown(number: int, members: list[dict], updated_at: str = AT) -> Exchange:
    body = {"data": {**package(number, members), "updated_at": updated_at}}
    return exchange("GET", f"{LIST}/{number}", body=body)


def _findings(ran: list[tuple[str, list[Finding]]]) -> list[str]:
    return [f"{check}: {finding.message}" for check, found in ran for finding in found]


def test_a_change_with_another_updated_at_is_another_writers_and_is_learnt() -> None:
    seen = Seen()
    checks.run_checks(_shown(4, [version(2, 3, 4, 80)]), seen)
    changed = _shown(4, [version(2, 3, 4, 10), version(5, 6, 4)], LATER)
    assert _findings(checks.run_checks(changed, seen)) == []
    assert seen.packages["4"].members == {2: 10, 5: 50}
    assert seen.updated["4"] == LATER
    # the same updated_at with other members: the server, not a colleague
    assert _findings(checks.run_checks(_shown(4, [version(2, 3, 4, 10)], LATER), seen)) == [
        "priorities_as_stored: package 4 holds {2: 10} (flow version: priority)"
    ]


def test_an_adds_answer_is_judged_by_the_version_and_priority_it_sent() -> None:
    seen = Seen()
    checks.run_checks(_shown(4, [version(2, 3, 4, 80)]), seen)
    add = "/api/v1/packages/4/flow-versions/7"
    # a colleague added flow version 5 meanwhile: the add's answer shows it too
    members = [version(2, 3, 4, 80), version(5, 6, 4), version(7, 8, 4, 20)]
    body = {"data": {**package(4, members), "updated_at": LATER}}
    assert (
        _findings(checks.run_checks(exchange("POST", add, body=body, sent={"priority": 20}), seen))
        == []
    )
    ignored = exchange("POST", add, body=body, sent={"priority": 30})
    assert [f.message for f in checks.priorities_as_stored(ignored, seen) or []] == [
        "package 4 holds {2: 80, 5: 50, 7: 20} (flow version: priority)"
    ]


def test_a_deleted_package_shown_unchanged_is_back_one_shown_changed_is_not_judged() -> None:
    seen = Seen()
    checks.run_checks(_shown(4, []), seen)
    checks.run_checks(exchange("DELETE", f"{LIST}/4", body={"message": "Deleted."}), seen)
    assert _findings(checks.run_checks(_shown(4, []), seen)) == [
        "deleted_stays_deleted: package 4 was deleted and is back"
    ]
    seen = Seen()
    checks.run_checks(_shown(4, []), seen)
    checks.run_checks(exchange("DELETE", f"{LIST}/4", body={"message": "Deleted."}), seen)
    assert _findings(checks.run_checks(_shown(4, [], LATER), seen)) == []


def test_history_checks_are_checks() -> None:
    assert set(checks.HISTORY) <= set(checks.CHECKS)
    assert checks.page_links not in checks.HISTORY


def test_without_history_the_history_checks_do_not_run_and_a_read_is_not_kept() -> None:
    seen = Seen()
    checks.run_checks(_shown(4, [version(2, 3, 4, 80)]), seen)
    older = _shown(4, [], LATER)  # an answer overtaken by a write: members as they were
    ran = dict(checks.run_checks(older, seen, history=False))
    assert ran.keys() & {c.__name__ for c in checks.HISTORY} == set()
    assert "answers_its_path" in ran  # the checks of the answer alone still run
    assert seen.packages["4"].members == {2: 80} and seen.updated["4"] == AT
    add = "/api/v1/packages/4/flow-versions/7"
    body = {"data": {**package(4, [version(7, 8, 4, 20)]), "updated_at": LATER}}
    added = exchange("POST", add, body=body, sent={"priority": 20})
    assert "priorities_as_stored" not in dict(checks.run_checks(added, seen, history=False))
    assert seen.packages["4"].members == {7: 20} and seen.updated["4"] == LATER  # writes are
    assert _findings(checks.run_checks(_shown(4, [version(7, 8, 4, 20)], LATER), seen)) == []
    assert _findings(checks.run_checks(_shown(4, [], LATER), seen))  # judged again after


def test_the_observer_passes_history_on() -> None:
    observer = Observer()
    observer.observe(_shown(4, [version(2, 3, 4, 80)]))
    assert observer.observe(_shown(4, []), history=False) == []
    assert [f.check for f in observer.observe(_shown(4, []))] == ["priorities_as_stored"]
