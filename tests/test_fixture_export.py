"""`patchworks-mock fixtures export` against a real mock server on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.testclient import TestClient

from patchworks_mock import bundled, create_app, fixtures, query
from patchworks_mock.documents import commands, export
from patchworks_mock.fixtures import generate
from patchworks_mock.instance import DEVELOPMENT_KEY
from tests.support import one_error_line

AUTH = {"Authorization": DEVELOPMENT_KEY}
# Everything a package renders from records the export sees (not `deployedVersion`: the last
# deployment in a VE may be of a flow version in no package, which the API never shows).
COMPARED_INCLUDES = ",".join(
    [*export.EXPORT_INCLUDES, "virtualEnvironments", "flowVersionDeployments"]
)


def run(*argv: str) -> int:
    root = argparse.ArgumentParser(prog="patchworks-mock")
    commands.register(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["fixtures", *argv])
    return args.handler(args)


@contextmanager
def serving(document: dict) -> Iterator[tuple[str, list[str]]]:
    """A real mock server on a free port of 127.0.0.1; yields its URL and the methods it saw."""
    app = create_app(document)
    methods: list[str] = []

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            methods.append(scope["method"])
        await app(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(recording, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", methods
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def rendered(client, path: str = "/api/v1/packages") -> list[dict]:
    """Every package the mock lists, all pages, with the compared includes."""
    packages, page, last_page = [], 1, 1
    while page <= last_page:
        params = {"include": COMPARED_INCLUDES, "per_page": 100, "page": page}
        answer = client.get(path, params=params, headers=AUTH).json()
        packages.extend(answer["data"])
        last_page = answer["meta"]["last_page"]
        page += 1
    return packages


def test_the_export_asks_only_for_includes_the_api_allows():
    assert set(export.EXPORT_INCLUDES) <= set(query.ALLOWED_INCLUDES)


@pytest.mark.parametrize(
    "document",
    [
        fixtures.read(bundled.DEFAULT_FIXTURES),
        generate(11, users=4, flows=8, environments=3, packages=130, deployed_ratio=0.7),
    ],
    ids=["default", "generated-130"],
)
def test_an_export_loads_into_a_mock_that_renders_the_same_packages(tmp_path, capsys, document):
    source_app = create_app(document)
    with TestClient(source_app) as source:
        # Leave a trace the export must rebuild: a VE removed from a deployed package keeps
        # its flow version deployments, with no deployment record behind them.
        deployment = document["deployments"][0]
        removed = source.delete(
            f"/api/v1/packages/{deployment['package_id']}"
            f"/virtual-environments/{deployment['virtual_environment_id']}",
            headers=AUTH,
        )
        assert removed.status_code == 200
        document = fixtures.dump(source_app.state.store)
    target = tmp_path / "exported.json"
    with serving(document) as (url, methods):
        assert run("export", "--url", url, "--api-key", DEVELOPMENT_KEY, "-o", str(target)) == 0
        with TestClient(create_app(document)) as original:
            expected = rendered(original)
            expected_deployed = rendered(original, "/api/v1/flow-version-deployments/packages")
    assert set(methods) == {"GET"}
    assert len(methods) == max(1, -(-len(document["packages"]) // export.PER_PAGE))
    assert "exported" in capsys.readouterr().err
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert fixtures.problems(exported) == []
    assert {u["password"] for u in exported["users"]} == {export.PLACEHOLDER_PASSWORD}
    with TestClient(create_app(exported)) as copy:
        assert rendered(copy) == expected
        assert rendered(copy, "/api/v1/flow-version-deployments/packages") == expected_deployed


def test_placeholders_stand_in_for_what_the_api_does_not_show():
    stamp = "2025-01-01T00:00:00.000000Z"
    version = {
        "id": 3,
        "flow_id": 2,
        "flow_name": "Shopify orders to NetSuite",
        "iteration": 1,
        "status": "deployed",
        "created_at": stamp,
        "updated_at": stamp,
        "pivot": {"package_id": 1, "flow_version_id": 3, "priority": 80},
        "deployments": [
            {
                "id": 4,
                "flow_version_id": 3,
                "virtual_environment_id": 9,
                "deployment_id": 77,
                "status": "deployed",
                "deployed_by": 6,
                "created_at": stamp,
                "updated_at": stamp,
            }
        ],
    }
    package = {
        "id": 1,
        "name": "P",
        "notes": None,
        "created_by_id": 5,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": None,
        "flow_versions": [version],
        "deployments": [],
    }
    document = export.document_from_packages([package])
    assert fixtures.problems(document) == []
    assert [(u["id"], u["email"]) for u in document["users"]] == [
        (5, "user5@placeholder.invalid"),
        (6, "user6@placeholder.invalid"),
    ]
    assert document["virtual_environments"][0]["name"] == "Virtual environment 9"
    assert document["flow_version_deployments"][0]["deployment_id"] is None
    assert document["flows"] == [
        {"id": 2, "name": "Shopify orders to NetSuite", "created_at": stamp, "updated_at": stamp}
    ]
    assert document["packages"][0]["flow_versions"] == [{"flow_version_id": 3, "priority": 80}]


def test_a_wrong_api_key_is_one_line_and_exit_2(capsys):
    with serving(generate(1, packages=2)) as (url, _):
        assert run("export", "--url", url, "--api-key", "wrong") == 2
    assert "401 Unauthenticated" in one_error_line(capsys.readouterr().err)


def test_a_server_that_is_not_there_is_one_line_and_exit_2(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run("export", "--url", f"http://127.0.0.1:{port}", "--api-key", "k") == 2
    assert "cannot read http://127.0.0.1" in one_error_line(capsys.readouterr().err)


def test_a_url_that_is_not_the_api_is_one_line_and_exit_2(capsys):
    with serving(generate(1, packages=2)) as (url, _):
        assert run("export", "--url", f"{url}/elsewhere", "--api-key", DEVELOPMENT_KEY) == 2
    assert "HTTP 404" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--url", "ftp://example.com"], "--url must be an http(s) URL"),
        (["--url", "http://127.0.0.1:1", "--timeout", "0"], "--timeout must be a positive"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, flags, reason):
    assert run("export", "--api-key", "k", *flags) == 2
    assert reason in one_error_line(capsys.readouterr().err)
