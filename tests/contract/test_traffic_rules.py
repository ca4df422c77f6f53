"""The rules a proxy judges from traffic (`contract/traffic_rules.py`) on hand-made exchanges."""

from __future__ import annotations

from typing import Any

import pytest

from patchworks_mock.contract import checks, traffic_rules
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.reading import Check, Finding, PackageState, Seen
from tests.contract.test_checks import exchange, messages, package, version

LIST = "/api/v1/packages"


def named(number: int, name: str, notes: str | None = None) -> dict[str, Any]:
    return {**package(number), "name": name, "notes": notes}


def page_of(rows: list[dict], page: int = 1, per_page: int = 15, total: int | None = None) -> dict:
    """A list's envelope around `rows` (only what the rules read of it)."""
    total = len(rows) if total is None else total
    meta = {"current_page": page, "per_page": per_page, "total": total, "last_page": 9}
    return {"data": rows, "links": {}, "meta": meta}


def judged(seen: Seen, exchange: Exchange, rule: Check) -> list[Finding] | None:
    """`rule`'s word on `exchange`, the run's history then updated as the observer does it."""
    return dict(checks.run_checks(exchange, seen, [rule])).get(rule.__name__)


def test_the_rules_are_registered_with_the_checks() -> None:
    assert set(traffic_rules.RULES) <= set(checks.CHECKS)


# -- lists ---------------------------------------------------------------------------------------


def test_a_filtered_list_shows_only_names_holding_a_value_in_any_case() -> None:
    rows = [named(1, "Order SYNC"), named(2, "stock sync"), named(3, "Refunds")]
    rule = traffic_rules.name_filter_applied
    good = exchange("GET", LIST, body=page_of(rows[:2]), query="filter[name]=Sync")
    either = exchange("GET", LIST, body=page_of(rows), query="filter[name]=sync,REFUND")
    bad = exchange("GET", LIST, body=page_of(rows), query="filter[name]=sync")
    assert rule(good, Seen()) == []
    assert rule(either, Seen()) == []
    assert messages(rule(bad, Seen())) == ["filter[name]='sync' shows 'Refunds'"]
    assert rule(exchange("GET", LIST, body=page_of(rows)), Seen()) is None  # no filter
    assert rule(exchange("GET", LIST, body=page_of(rows), query="filter[name]=,"), Seen()) is None


def test_a_filter_matches_as_an_accent_insensitive_collation_or_is_not_judged() -> None:
    rule = traffic_rules.name_filter_applied

    def shown(names: list[str], needle: str) -> list[Finding] | None:
        rows = [named(i, name) for i, name in enumerate(names, 1)]
        return rule(
            exchange("GET", LIST, body=page_of(rows), query=f"filter[name]={needle}"), Seen()
        )

    assert shown(["Café orders", "CAFE sync"], "cafe") == []
    assert shown(["Cafe orders"], "caf%C3%A9") == []  # an accented value finds a plain name
    assert shown(["Straße sync"], "strasse") == []  # ß as ss in one collation, not another
    assert shown(["order-sync"], "order_sync") == []  # `_` is LIKE's wildcard
    assert messages(shown(["Café orders", "Refunds"], "cafe")) == [
        "filter[name]='cafe' shows 'Refunds'"
    ]


@pytest.mark.parametrize(
    "names",
    [
        ["Éclair rollout", "Zebra sync"],
        ["order_sync", "order-sync", "order2"],
        ["order2", "order_sync", "order-sync"],
        ["Order sync", "order  sync", "Order"],
        ["Ærø export", "Alpha", "Zebra"],
    ],
)
def test_names_collations_order_differently_are_not_judged(names: list[str]) -> None:
    rows = [named(i, name) for i, name in enumerate(names, 1)]
    ascending = exchange("GET", LIST, body=page_of(rows), query="sort=name")
    assert traffic_rules.sort_applied(ascending, Seen()) == []


def test_names_every_collation_orders_alike_are_judged() -> None:
    rule = traffic_rules.sort_applied
    names = ["order10", "Order2", "order2 sync", "Zebra", "apple"]  # the last is out of place
    rows = [named(i, name) for i, name in enumerate(names, 1)]
    assert messages(rule(exchange("GET", LIST, body=page_of(rows), query="sort=name"), Seen()))
    rows = [named(i, name) for i, name in enumerate(names[:4], 1)]
    assert rule(exchange("GET", LIST, body=page_of(rows), query="sort=name"), Seen()) == []
    assert messages(rule(exchange("GET", LIST, body=page_of(rows), query="sort=-name"), Seen()))
    backwards = exchange("GET", LIST, body=page_of(rows[::-1]), query="sort=-name")
    assert rule(backwards, Seen()) == []


def test_a_sorted_list_comes_in_the_names_order_ignoring_case() -> None:
    rows = [named(3, "alpha"), named(1, "Beta"), named(2, "gamma")]
    rule = traffic_rules.sort_applied
    assert rule(exchange("GET", LIST, body=page_of(rows), query="sort=name"), Seen()) == []
    backwards = exchange("GET", LIST, body=page_of(rows[::-1]), query="sort=-name")
    assert rule(backwards, Seen()) == []
    by_id = exchange(
        "GET", LIST, body=page_of(sorted(rows, key=lambda r: r["id"])), query="sort=name"
    )
    assert "'Beta', 'gamma', 'alpha'" in messages(rule(by_id, Seen()))[0]
    assert messages(rule(exchange("GET", LIST, body=page_of(rows), query="sort=-name"), Seen()))
    assert rule(exchange("GET", LIST, body=page_of(rows)), Seen()) is None  # no sort


def _page(ids: list[int], page: int, query: str = "per_page=2") -> Exchange:
    rows = [named(i, f"p{i}") for i in ids]
    body = page_of(rows, page=page, per_page=2, total=6)
    return exchange("GET", LIST, body=body, query=f"{query}&page={page}")


def test_pages_of_one_query_hold_no_package_twice() -> None:
    rule = traffic_rules.pages_disjoint
    seen = Seen()
    assert judged(seen, _page([1, 2], 1), rule) == []
    assert judged(seen, _page([1, 2], 1), rule) == []  # the same page again
    assert judged(seen, _page([3, 4], 2, "per_page=2&include=flowVersions"), rule) == []
    assert messages(judged(seen, _page([2, 3], 3), rule)) == [
        "page 3 shows packages 2, 3, already on another page of this query"
    ]


def test_pages_apart_by_a_write_or_of_another_query_may_share_a_package() -> None:
    rule = traffic_rules.pages_disjoint
    seen = Seen()
    judged(seen, _page([1, 2], 1), rule)
    assert judged(seen, _page([2, 3], 2, "per_page=2&sort=name"), rule) == []
    judged(seen, exchange("POST", LIST, 201, {"data": named(7, "new")}, sent={"name": "new"}), rule)
    assert judged(seen, _page([2, 3], 2), rule) == []


def test_a_package_another_writer_changed_between_two_pages_may_show_on_both() -> None:
    rule = traffic_rules.pages_disjoint
    seen = Seen()
    judged(seen, _page([1, 2], 1), rule)
    moved = _page([2, 3], 2)
    rows = moved.json["data"]
    rows[0]["updated_at"] = "2026-12-01T10:00:00.000000Z"  # renamed since page 1 showed it
    assert (
        judged(seen, exchange("GET", LIST, body=moved.json, query=moved.url.split("?")[1]), rule)
        == []
    )


def test_the_pages_kept_of_a_query_are_bounded() -> None:
    rule = traffic_rules.pages_disjoint
    seen = Seen()
    for number in range(1, 30_000):
        body = page_of([], page=number, per_page=2, total=6)  # past last_page 9 from page 10
        judged(seen, exchange("GET", LIST, body=body, query=f"per_page=2&page={number}"), rule)
    [(_, pages)] = [v for k, v in seen.traffic.items() if k[0] == "pages_disjoint"]
    assert sorted(pages) == list(range(1, 10))
    for number in range(1, 2 * traffic_rules.MAX_PAGES):
        body = page_of([], page=number, per_page=2, total=6)
        body["meta"]["last_page"] = 10**6
        judged(seen, exchange("GET", LIST, body=body, query=f"per_page=2&page={number}"), rule)
    [(_, pages)] = [v for k, v in seen.traffic.items() if k[0] == "pages_disjoint"]
    assert len(pages) == traffic_rules.MAX_PAGES


# -- what a write left ---------------------------------------------------------------------------


def _refused(sent: dict[str, Any], field: str = "name", path: str = LIST) -> Exchange:
    message = f"The {field} field must not be greater than 255 characters."
    body = {"message": message, "errors": {field: [message]}}
    return exchange("POST", path, 422, body, sent=sent)


def test_a_value_within_its_limits_is_not_refused() -> None:
    rule = traffic_rules.accepts_within_limits
    [padded] = rule(_refused({"name": "  " + "n" * 255 + " "}), Seen()) or []
    assert padded.message.startswith("name '  nnnnnnnnnn'... of 255 characters once trimmed was")
    assert not padded.assumption
    assert messages(rule(_refused({"name": "é" * 255}), Seen()))
    assert rule(_refused({"name": "n" * 256}), Seen()) == []  # past the limit: refused rightly
    assert rule(_refused({"name": "   "}), Seen()) == []  # blank: missing
    assert rule(_refused({"name": 5}), Seen()) == []  # not a string
    assert rule(_refused({"name": "ok", "notes": "n" * 300}, "notes"), Seen()) == []
    assert rule(exchange("POST", LIST, 201, {"data": package(1)}), Seen()) is None


def test_a_number_sent_as_a_json_string_may_be_refused() -> None:
    rule = traffic_rules.accepts_within_limits
    body = {"message": "m", "errors": {"priority": ["The priority field must be an integer."]}}
    path = f"{LIST}/7/flow-versions/3"
    assert rule(exchange("POST", path, 422, body, sent={"priority": "5"}), Seen()) == []
    assert messages(rule(exchange("POST", path, 422, body, sent={"priority": 5}), Seen()))
    in_query = {"message": "m", "errors": {"per_page": ["m"]}}
    [found] = rule(exchange("GET", LIST, 422, in_query, query="per_page=5"), Seen()) or []
    assert "per_page '5' was refused" in found.message  # a query value is always a string


def test_a_value_refused_within_a_decided_limit_is_an_assumption() -> None:
    body = {"message": "m", "errors": {"per_page": ["m"]}}
    decided = exchange("GET", LIST, 422, body, query="per_page=100")
    [found] = traffic_rules.accepts_within_limits(decided, Seen()) or []
    assert found.assumption
    past = exchange("GET", LIST, 422, body, query="per_page=101")
    assert traffic_rules.accepts_within_limits(past, Seen()) == []


def test_an_answer_shows_the_name_and_notes_stored_trimmed() -> None:
    rule = traffic_rules.fields_as_stored
    sent = {"name": " Release ", "notes": "n" * 255}
    kept = exchange("POST", LIST, 201, {"data": named(7, "Release", "n" * 255)}, sent=sent)
    assert judged(Seen(), kept, rule) == []
    cut = exchange("POST", LIST, 201, {"data": named(7, "Release", "n" * 250)}, sent=sent)
    [found] = messages(judged(Seen(), cut, rule))
    assert found.startswith("package 7 shows notes 'nnnnnnnnnnnn'... of 250 characters")
    blank = exchange("POST", LIST, 201, {"data": named(7, "R")}, sent={"name": "R", "notes": " "})
    assert judged(Seen(), blank, rule) == []


def test_a_refused_write_changes_no_name_a_successful_one_does() -> None:
    rule = traffic_rules.fields_as_stored
    seen = Seen()
    path = f"{LIST}/7"
    judged(seen, exchange("GET", path, body={"data": named(7, "Release", "kept")}), rule)
    refused = _refused({"name": "n" * 300})
    judged(seen, Exchange("PUT", f"{refused.url}/7", {}, refused.request_body, 422, {}, b""), rule)
    cut = exchange("GET", path, body={"data": named(7, "n" * 255, "kept")})
    [found] = messages(judged(seen, cut, rule))
    assert found.startswith("package 7 shows name 'nnnnnnnnnnnn'... of 255 characters")
    renamed = exchange("PUT", path, body={"data": named(7, "New", "kept")}, sent={"name": "New"})
    assert judged(seen, renamed, rule) == []
    assert judged(seen, exchange("GET", path, body={"data": named(7, "New", "kept")}), rule) == []
    cut_and_kept = {"data": named(7, "n" * 255, "kept")}
    past = exchange("PUT", path, body=cut_and_kept, sent={"name": "n" * 300})
    assert judged(seen, past, rule) == []  # accepted past the limit: what was kept is not known
    assert judged(seen, exchange("GET", path, body=cut_and_kept), rule) == []


def test_another_writers_edit_is_learnt_a_refused_write_stored_anyway_is_not() -> None:
    seen = Seen()
    path = f"{LIST}/7"
    first = {**named(7, "Release", "kept")}
    checks.run_checks(exchange("GET", path, body={"data": first}), seen)
    later = "2026-12-01T10:00:00.000000Z"
    colleague = {**named(7, "Renamed by a colleague", "kept"), "updated_at": later}
    assert _failed(checks.run_checks(exchange("GET", path, body={"data": colleague}), seen)) == []
    refused = _refused({"name": "  " + "n" * 300})
    put = Exchange("PUT", f"{refused.url}/7", {}, refused.request_body, 422, {}, refused.body)
    checks.run_checks(put, seen)
    stored = {**named(7, "n" * 255, "kept"), "updated_at": "2026-12-01T11:00:00.000000Z"}
    found = _failed(checks.run_checks(exchange("GET", path, body={"data": stored}), seen))
    assert found == [
        "package 7 shows name 'nnnnnnnnnnnn'... of 255 characters once trimmed, "
        "what a refused write sent, cut to its limit"
    ]


def test_a_writes_own_answer_is_judged_by_what_it_sent() -> None:
    seen = Seen()
    path = f"{LIST}/7"
    checks.run_checks(exchange("GET", path, body={"data": named(7, "Release", "kept")}), seen)
    # a colleague changed the notes; the client's rename answers them, with a new updated_at
    answer = {**named(7, "New", "a colleague's"), "updated_at": "2026-12-01T10:00:00.000000Z"}
    renamed = exchange("PUT", path, body={"data": answer}, sent={"name": "New"})
    assert _failed(checks.run_checks(renamed, seen)) == []
    wrong = {**answer, "name": "Old"}
    found = _failed(
        checks.run_checks(exchange("PUT", path, body={"data": wrong}, sent={"name": "New"}), seen)
    )
    assert found == ["package 7 shows name 'Old'"]


def _failed(ran: list[tuple[str, list[Finding]]]) -> list[str]:
    return [finding.message for _, found in ran for finding in found]


def _compare(in_sync: bool, flows: tuple[int, ...] = (1,)) -> Exchange:
    rows = [
        {
            "flow_id": flow,
            "flow_name": f"flow {flow}",
            "package_version": version(flow, flow),
            "environment_version": version(flow, flow) if in_sync else None,
            "in_sync": in_sync,
        }
        for flow in flows
    ]
    return exchange("GET", f"{LIST}/7/compare/2", body={"data": rows})


def _deploy(package_number: int) -> Exchange:
    record = {"id": 1, "package_id": package_number, "virtual_environment_id": 2}
    return exchange("POST", f"{LIST}/{package_number}/deploy/2", body={"data": record}, sent={})


def test_a_package_just_deployed_is_in_sync_in_its_ve() -> None:
    rule = traffic_rules.in_sync_after_deploy
    seen = Seen(packages={"7": PackageState(members={1: 50}), "8": PackageState(members={})})
    assert judged(seen, _compare(in_sync=False), rule) is None  # not deployed by this run
    judged(seen, _deploy(7), rule)
    assert judged(seen, _compare(in_sync=True), rule) == []
    assert messages(judged(seen, _compare(in_sync=False), rule)) == [
        "flows 1 have no version live in VE 2, where package 7 deployed them"
    ]
    assert judged(seen, _compare(in_sync=False, flows=(1, 1)), rule) is None
    judged(seen, _deploy(8), rule)  # another package deployed there since
    assert judged(seen, _compare(in_sync=False), rule) is None


def test_what_another_writer_deployed_or_added_since_a_deploy_is_not_judged() -> None:
    rule = traffic_rules.in_sync_after_deploy
    seen = Seen(packages={"7": PackageState(members={1: 50})})
    judged(seen, _deploy(7), rule)
    replaced = _compare(in_sync=False)
    rows = replaced.json["data"]
    rows[0]["environment_version"] = version(9, 1)  # another version of flow 1 deployed since
    assert judged(seen, exchange("GET", f"{LIST}/7/compare/2", body={"data": rows}), rule) == []
    added = _compare(in_sync=False, flows=(1, 5)).json["data"]
    added[0]["environment_version"], added[0]["in_sync"] = version(1, 1), True
    # flow 5's version was added since the deploy, by someone else: not live there yet
    assert judged(seen, exchange("GET", f"{LIST}/7/compare/2", body={"data": added}), rule) == []


# -- decisions of api-notes ----------------------------------------------------------------------


def _added(priority: int, sent: dict[str, Any], members: list[dict] | None = None) -> Exchange:
    shown = [version(3, 1, 7, priority)] if members is None else members
    return exchange(
        "POST", f"{LIST}/7/flow-versions/3", body={"data": package(7, shown)}, sent=sent
    )


def test_a_version_added_without_a_priority_gets_fifty() -> None:
    rule = traffic_rules.default_priority
    seen = Seen(packages={"7": PackageState(members={})})
    assert rule(_added(50, {}), seen) == []
    [found] = rule(_added(30, {}), seen) or []
    assert found.assumption and "api-notes decides 50" in found.message
    assert rule(_added(30, {"priority": 30}), seen) is None  # a priority sent
    assert rule(_added(30, {}), Seen(packages={"7": PackageState(members={3: 30})})) is None
    assert rule(_added(30, {}), Seen()) is None  # what the package held is not known


def test_a_package_holds_one_version_of_a_flow() -> None:
    rule = traffic_rules.one_version_per_flow
    assert rule(_added(50, {}, [version(3, 1, 7), version(4, 2, 7)]), Seen()) == []
    [found] = rule(_added(50, {}, [version(3, 1, 7), version(2, 1, 7)]), Seen()) or []
    assert found.assumption and "flows 1" in found.message


def test_a_package_without_flow_versions_is_not_deployed() -> None:
    rule = traffic_rules.empty_deploy_refused
    empty = Seen(packages={"7": PackageState(members={})})
    [found] = rule(_deploy(7), empty) or []
    assert found.assumption and "api-notes decides 422" in found.message
    body = {"message": "m", "errors": {"package": ["m"]}}
    refused = exchange("POST", f"{LIST}/7/deploy/2", 422, body, sent={})
    assert rule(refused, empty) == []
    assert rule(_deploy(7), Seen(packages={"7": PackageState(members={3: 50})})) is None
    assert rule(_deploy(7), Seen()) is None


def test_removing_a_version_the_package_does_not_hold_answers_404() -> None:
    rule = traffic_rules.absent_version_removal
    path = f"{LIST}/7/flow-versions/3"
    removed = exchange("DELETE", path, body={"message": "Removed."})
    absent = exchange("DELETE", path, 404, {"message": "No query results"})
    without = Seen(packages={"7": PackageState(members={4: 50})})
    [found] = rule(removed, without) or []
    assert found.assumption and "api-notes decides 404" in found.message
    assert rule(absent, without) == []
    assert rule(removed, Seen(packages={"7": PackageState(members={3: 50})})) is None
    assert rule(removed, Seen()) is None
