"""A proxy is rarely the only writer: a colleague's edits on the server between a client's
proxied reads are another writer's, not violations; names collations order and match
differently are not judged; a number sent as a JSON string is the client's fault only."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx
import pytest

from patchworks_mock.app import create_app
from patchworks_mock.contract.api import Api
from tests.proxy.support import KEY, journal, mock_and_proxy

UNFLOWED = 10  # a flow version (of flow 4) the bundled fixtures put in no package


def _complaints(proxy_url: str) -> list[dict[str, Any]]:
    """Every violation and assumption the proxy journaled, with its request."""
    return [
        {"request": f"{e['method']} {e['path']}?{e['query'] or ''}", **finding}
        for e in journal(proxy_url)
        for finding in e["violations"] + e["assumptions"]
    ]


def test_a_colleagues_writes_between_proxied_reads_are_no_violations() -> None:
    with (
        mock_and_proxy() as (mock_url, proxy_url, _),
        httpx.Client(base_url=proxy_url, headers=KEY) as through,
        httpx.Client(base_url=mock_url, headers=KEY) as direct,
    ):
        client, colleague = Api(through), Api(direct)
        package = client.create({"name": "Shared", "notes": "first"}).json()["data"]["id"]
        client.add_version(package, 1, {"priority": 10})
        client.deploy(package, 1)

        def read() -> None:
            client.get(package, include="flowVersions")
            client.list({"per_page": 100, "include": "flowVersions"})
            client.compare(package, 1)

        read()
        colleague.update(package, {"name": "Renamed by a colleague"})
        read()
        colleague.update(package, {"notes": "changed on the dashboard"})
        read()
        colleague.add_version(package, UNFLOWED, {"priority": 70})
        read()
        colleague.add_version(package, 1, {"priority": 90})  # a priority changed
        read()
        colleague.deploy(2, 1)  # another package deployed to the VE
        read()
        colleague.deploy(package, 1)
        read()
        undeployed = client.create({"name": "Undeployed"}).json()["data"]["id"]
        client.add_version(undeployed, 1, {"priority": 20})
        client.add_version(undeployed, UNFLOWED)
        client.get(undeployed, include="flowVersions")
        colleague.remove_version(undeployed, UNFLOWED)
        client.get(undeployed, include="flowVersions")
        client.compare(undeployed, 1)
        other = client.create({"name": "Short-lived"}).json()["data"]["id"]
        client.add_version(other, 4)
        client.get(other, include="flowVersions")
        colleague.delete(other)
        again = colleague.create({"name": "Short-lived"}).json()["data"]["id"]
        colleague.add_version(again, 4, {"priority": 5})
        assert client.get(other).status_code == 404
        client.get(again, include="flowVersions")
        client.list({"filter[name]": "Short-lived", "include": "flowVersions"})
        client.update(package, {"name": "Back to the client"})  # its answer: the client's
        read()
        complaints = _complaints(proxy_url)
    assert complaints == []


def _accentless(name: str) -> str:
    """A name as MySQL's utf8mb4_0900_ai_ci compares it in LIKE: accents and case ignored."""
    bare = unicodedata.normalize("NFKD", name)
    return "".join(c for c in bare if not unicodedata.combining(c)).casefold()


def _mysql_key(name: str) -> str:
    """A name as that collation roughly orders it: punctuation before digits before letters."""
    return "".join(c if c.isalnum() else chr(1) for c in _accentless(name))


def as_on_mysql(app: Any) -> Any:
    """The mock, listing and filtering names as Laravel on MySQL does (a correct server too)."""
    target = app.state.store
    original = target.list_packages

    def list_packages(*, names, sort, descending, page, per_page, **kwargs):
        everything, _ = original(
            names=None, sort="id", descending=False, page=1, per_page=10**9, **kwargs
        )
        needles = [_accentless(n) for n in names or []]
        kept = [
            p for p in everything if not needles or any(n in _accentless(p.name) for n in needles)
        ]
        if sort == "name":
            kept.sort(key=lambda p: (_mysql_key(p.name), p.id), reverse=descending)
        return kept[(page - 1) * per_page : page * per_page], len(kept)

    target.list_packages = list_packages
    return app


@pytest.mark.parametrize("upstream", [create_app, lambda: as_on_mysql(create_app())])
def test_names_collations_order_and_match_differently_are_no_violations(upstream) -> None:
    names = [
        "Éclair rollout",
        "Zebra sync",
        "eclair backup",
        "order_sync",
        "order-sync",
        "order2",
        "Order sync",
        "Café orders",
        "cafe refunds",
        "Straße export",
    ]
    with (
        mock_and_proxy(upstream()) as (mock_url, proxy_url, _),
        httpx.Client(base_url=proxy_url, headers=KEY) as through,
        httpx.Client(base_url=mock_url, headers=KEY) as direct,
    ):
        for name in names:
            assert Api(direct).create({"name": name}).status_code == 201
        client = Api(through)
        for sort in ("name", "-name"):
            client.list({"sort": sort, "per_page": 100})
            client.list({"sort": sort, "per_page": 3, "page": 2})
        for needle in ("cafe", "Café", "eclair", "order_sync", "strasse", "order-"):
            client.list({"filter[name]": needle, "sort": "name"})
        complaints = _complaints(proxy_url)
        entries = journal(proxy_url)
    assert complaints == []
    assert len(entries) == 2 * 2 + 6 and all(e["status"] == 200 for e in entries)


def test_a_priority_sent_as_a_string_is_the_clients_fault_only() -> None:
    with (
        mock_and_proxy() as (_, proxy_url, app),
        httpx.Client(base_url=proxy_url, headers=KEY) as through,
    ):
        client = Api(through)
        package = client.create({"name": "Strings"}).json()["data"]["id"]
        refused = client.add_version(package, 1, {"priority": "5"})
        complaints = _complaints(proxy_url)
    assert refused.status_code == 422, refused.text
    assert {c["check"] for c in complaints} == {"request_conforms"}, complaints
    assert "accepts_within_limits" not in {r.check for r in app.watch.results() if r.message}
