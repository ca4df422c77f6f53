"""Tests of `packages_client` written with the `patchworks_mock` fixture, as a user would."""

import httpx
import pytest
from packages_client import PackagesClient


@pytest.fixture
def client(patchworks_mock):
    return PackagesClient(patchworks_mock.url, patchworks_mock.api_key)


def test_create_add_and_deploy(client, patchworks_mock):
    package = client.create_package("Black Friday", notes="orders")
    client.add_flow_version(package["id"], 3, priority=90)
    deployment = client.deploy(package["id"], 2, notes="go live")
    assert deployment["package_id"] == package["id"]
    # the journal shows what the client sent
    sent = patchworks_mock.requests_to("POST", "/api/v1/packages/*/deploy/*")
    assert [r["body"] for r in sent] == [{"notes": "go live"}]
    assert "authorization" not in sent[0]["headers"]


def test_list_walks_every_page(client, patchworks_mock):
    for n in range(120):
        client.create_package(f"Bulk {n}")
    assert len(client.list_packages()) == 125
    assert len(client.list_packages(name="bulk 11")) == 11  # 11, 110..119
    pages = patchworks_mock.requests_to("GET", "/api/v1/packages")
    assert [r["query"]["page"] for r in pages[:2]] == ["1", "2"]


def test_a_503_is_retried(client, patchworks_mock):
    patchworks_mock.fail_next(503, method="POST", path="/api/v1/packages")
    assert client.create_package("Retried")["name"] == "Retried"
    assert [r["status"] for r in patchworks_mock.requests] == [503, 201]
    names = [p["name"] for p in patchworks_mock.state["packages"]]
    assert names.count("Retried") == 1  # the failed attempt changed nothing


def test_a_429_waits_for_retry_after(client, patchworks_mock):
    patchworks_mock.fail_next(429, times=2, retry_after=0)
    assert len(client.list_packages()) == 5
    assert [r["status"] for r in patchworks_mock.requests] == [429, 429, 200]


def test_it_gives_up_after_its_retries(client, patchworks_mock):
    patchworks_mock.fail_next(503, times=10)
    with pytest.raises(httpx.HTTPStatusError):
        client.create_package("Never")
    assert len(patchworks_mock.requests) == 4


@pytest.mark.patchworks_fixtures({"users": [], "flows": [], "flow_versions": [],
                                  "virtual_environments": [], "packages": []})  # fmt: skip
def test_an_empty_account(client):
    assert client.list_packages() == []


def test_each_test_starts_from_the_fixtures(client):
    assert [p["id"] for p in client.list_packages()] == [1, 2, 3, 4, 5]
