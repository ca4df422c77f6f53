"""Every Packages operation through HTTP, against the rules of the domain (api-notes.md)."""

import pytest

from patchworks_mock import errors
from patchworks_mock.store import DEFAULT_PRIORITY

# Bundled fixtures: package 1 deployed to VEs 1 and 2 (flow versions 2 and 5); package 2 to
# VE 1 (flow version 8); packages 3 and 4 never deployed; package 5 empty. Flow versions 1-3
# belong to flow 1, 4-6 to flow 2, 7-9 to flow 3.


def ids(response):
    return [p["id"] for p in response.json()["data"]]


def test_list_packages_is_a_laravel_page_in_id_order(client):
    response = client.get("/api/v1/packages")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [1, 2, 3, 4, 5]
    assert body["meta"]["total"] == 5 and body["meta"]["per_page"] == 15
    assert body["meta"]["path"] == "http://testserver/api/v1/packages"
    assert set(body["data"][0]) == {
        "id", "name", "notes", "created_by_id", "created_at", "updated_at"
    }  # fmt: skip


def test_filter_name_is_partial_case_insensitive_and_comma_means_or(client):
    assert ids(client.get("/api/v1/packages", params={"filter[name]": "ORDER SYNC"})) == [1, 4]
    assert ids(client.get("/api/v1/packages", params={"filter[name]": "hotfix,refunds"})) == [2, 3]
    assert ids(client.get("/api/v1/packages", params={"filter[name]": "nothing like it"})) == []


def test_sort_by_name_both_ways(client):
    ascending = client.get("/api/v1/packages", params={"sort": "name"}).json()["data"]
    names = [p["name"] for p in ascending]
    assert names == sorted(names, key=str.casefold)
    descending = ids(client.get("/api/v1/packages", params={"sort": "-name"}))
    assert descending == [p["id"] for p in reversed(ascending)]


def test_deployed_packages_lists_only_packages_with_a_deployment(client):
    response = client.get("/api/v1/flow-version-deployments/packages")
    assert response.status_code == 200
    assert ids(response) == [1, 2]


def test_includes_render_snake_case_relations_with_the_pivot(client):
    include = "createdBy,flowVersions.deployments,virtualEnvironments,deployments.user"
    body = client.get("/api/v1/packages/1", params={"include": include}).json()["data"]
    assert body["created_by"]["id"] == body["created_by_id"] == 1
    assert "password" not in body["created_by"]
    versions = body["flow_versions"]
    assert [(v["id"], v["pivot"]["priority"]) for v in versions] == [(2, 80), (5, 50)]
    assert versions[0]["pivot"] == {"package_id": 1, "flow_version_id": 2, "priority": 80}
    assert {d["virtual_environment_id"] for d in versions[0]["deployments"]} == {1, 2}
    assert [ve["id"] for ve in body["virtual_environments"]] == [1, 2]
    assert [d["user"]["id"] for d in body["deployments"]] == [1, 2]


def test_nested_deployment_includes(client):
    include = "deployments.virtualEnvironment.deployedVersion,flowVersionDeployments,package"
    body = client.get("/api/v1/packages/1", params={"include": include}).json()["data"]
    environment = body["deployments"][0]["virtual_environment"]
    assert environment["id"] == 1 and environment["deployed_version"]["virtual_environment_id"] == 1
    assert "user" not in body["deployments"][0]
    assert sorted(f["id"] for f in body["flow_version_deployments"]) == [2, 3, 4, 5]


def test_get_package_and_404_with_the_model_name(client):
    assert client.get("/api/v1/packages/3").json()["data"]["name"] == "Finance refunds (draft)"
    for key in ["999", "abc", "1.5", "-1", "99999999999999999999999"]:
        response = client.get(f"/api/v1/packages/{key}")
        assert response.status_code == 404
        assert response.json() == {
            "message": f"No query results for model [App\\Models\\Package] {key}"
        }


def test_create_answers_201_with_location_and_stores_trimmed_input(client, store):
    response = client.post("/api/v1/packages", json={"name": "  Launch  ", "notes": "   "})
    assert response.status_code == 201
    created = response.json()["data"]
    assert created["name"] == "Launch" and created["notes"] is None
    assert created["created_by_id"] == 1
    assert response.headers["location"] == f"http://testserver/api/v1/packages/{created['id']}"
    assert client.get(response.headers["location"]).json()["data"] == created
    assert created["id"] == 6 and store().packages[6].name == "Launch"


@pytest.mark.parametrize(
    ("body", "errors_expected"),
    [
        ({}, {"name": ["The name field is required."]}),
        ({"name": None}, {"name": ["The name field is required."]}),
        ({"name": "  "}, {"name": ["The name field is required."]}),
        ({"name": 5}, {"name": ["The name field must be a string."]}),
        (
            {"name": "x" * 256, "notes": "y" * 256},
            {
                "name": ["The name field must not be greater than 255 characters."],
                "notes": ["The notes field must not be greater than 255 characters."],
            },
        ),
        ([], {"body": ["The request body must be a JSON object."]}),
        ("a string", {"body": ["The request body must be a JSON object."]}),
    ],
)
def test_create_refuses_bad_input_with_laravel_422_and_changes_nothing(
    client, store, body, errors_expected
):
    response = client.post("/api/v1/packages", json=body)
    assert response.status_code == 422
    first = next(iter(errors_expected.values()))[0]
    more = sum(len(v) for v in errors_expected.values()) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    assert response.json() == {"message": first + suffix, "errors": errors_expected}
    assert len(store().packages) == 5


def test_create_without_a_body_says_name_is_required(client):
    response = client.post("/api/v1/packages")
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}


def test_create_with_a_255_character_name_is_accepted(client):
    assert client.post("/api/v1/packages", json={"name": "n" * 255}).status_code == 201


def test_update_changes_only_what_is_sent(client):
    before = client.get("/api/v1/packages/3").json()["data"]
    response = client.put("/api/v1/packages/3", json={"notes": "Signed off"})
    assert response.status_code == 200
    after = response.json()["data"]
    assert after["notes"] == "Signed off" and after["name"] == before["name"]
    assert after["updated_at"] > before["updated_at"]
    assert client.get("/api/v1/packages/3").json()["data"] == after
    renamed = client.put("/api/v1/packages/3", json={"name": "Refunds", "notes": None}).json()
    assert (renamed["data"]["name"], renamed["data"]["notes"]) == ("Refunds", None)


def test_update_with_no_change_keeps_updated_at(client):
    before = client.get("/api/v1/packages/3").json()["data"]
    assert client.put("/api/v1/packages/3", json={}).json()["data"] == before


def test_update_errors(client):
    assert client.put("/api/v1/packages/99", json={"name": "x"}).status_code == 404
    response = client.put("/api/v1/packages/3", json={"name": ""})
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The name field is required."]}
    assert client.get("/api/v1/packages/3").json()["data"]["name"] == "Finance refunds (draft)"


def test_rename_moves_the_package_in_name_order(client):
    client.put("/api/v1/packages/5", json={"name": "AAA first"})
    assert ids(client.get("/api/v1/packages", params={"sort": "name"}))[0] == 5


def test_delete_removes_the_package_and_its_deployments(client, store):
    response = client.delete("/api/v1/packages/1")
    assert response.status_code == 200
    assert response.json() == {"message": errors.PACKAGE_DELETED}
    assert client.get("/api/v1/packages/1").status_code == 404
    assert 1 not in ids(client.get("/api/v1/packages"))
    assert ids(client.get("/api/v1/flow-version-deployments/packages")) == [2]
    assert all(d.package_id != 1 for d in store().deployments.values())
    # the flows stay deployed in their environments
    assert client.get("/api/v1/packages/2/compare/2").status_code == 200
    assert client.delete("/api/v1/packages/1").status_code == 404


def test_add_flow_version_with_default_and_given_priority(client):
    response = client.post("/api/v1/packages/5/flow-versions/1")
    assert response.status_code == 200
    pivot = response.json()["data"]["flow_versions"][0]["pivot"]
    assert pivot == {"package_id": 5, "flow_version_id": 1, "priority": DEFAULT_PRIORITY}
    client.post("/api/v1/packages/5/flow-versions/4", json={"priority": 1})
    client.post("/api/v1/packages/5/flow-versions/7", json={"priority": None})
    versions = client.get("/api/v1/packages/5", params={"include": "flowVersions"}).json()
    priorities = {v["id"]: v["pivot"]["priority"] for v in versions["data"]["flow_versions"]}
    assert priorities == {1: 50, 4: 1, 7: 50}


def test_adding_the_same_version_again_updates_its_priority(client):
    client.post("/api/v1/packages/5/flow-versions/1", json={"priority": 10})
    response = client.post("/api/v1/packages/5/flow-versions/1", json={"priority": 90})
    assert [v["pivot"]["priority"] for v in response.json()["data"]["flow_versions"]] == [90]
    unchanged = client.post("/api/v1/packages/5/flow-versions/1")
    assert [v["pivot"]["priority"] for v in unchanged.json()["data"]["flow_versions"]] == [90]


def test_a_second_version_of_a_flow_is_refused(client):
    client.post("/api/v1/packages/5/flow-versions/1")
    response = client.post("/api/v1/packages/5/flow-versions/2")
    assert response.status_code == 422
    assert response.json() == {
        "message": errors.FLOW_ALREADY_IN_PACKAGE,
        "errors": {"flow_version": [errors.FLOW_ALREADY_IN_PACKAGE]},
    }
    versions = client.get("/api/v1/packages/5", params={"include": "flowVersions"}).json()
    assert [v["id"] for v in versions["data"]["flow_versions"]] == [1]


@pytest.mark.parametrize("priority", [0, 101, -5, "high", 2.5, True])
def test_priority_must_be_an_integer_between_1_and_100(client, priority):
    response = client.post("/api/v1/packages/5/flow-versions/1", json={"priority": priority})
    assert response.status_code == 422
    message = response.json()["errors"]["priority"][0]
    assert message in {
        "The priority field must be between 1 and 100.",
        "The priority field must be an integer.",
    }
    versions = client.get("/api/v1/packages/5", params={"include": "flowVersions"}).json()
    assert versions["data"]["flow_versions"] == []


def test_add_flow_version_404s(client):
    missing_version = client.post("/api/v1/packages/5/flow-versions/999")
    assert missing_version.status_code == 404
    assert "App\\Models\\FlowVersion" in missing_version.json()["message"]
    assert client.post("/api/v1/packages/999/flow-versions/1").status_code == 404


def test_remove_flow_version_before_the_first_deploy(client):
    response = client.delete("/api/v1/packages/4/flow-versions/6")
    assert response.status_code == 200
    assert response.json() == {"message": errors.FLOW_VERSION_REMOVED}
    versions = client.get("/api/v1/packages/4", params={"include": "flowVersions"}).json()
    assert [v["id"] for v in versions["data"]["flow_versions"]] == [3, 9]
    not_member = client.delete("/api/v1/packages/4/flow-versions/6")
    assert not_member.status_code == 404
    assert not_member.json() == {"message": errors.NOT_IN_PACKAGE}


def test_remove_flow_version_after_a_deploy_is_refused(client):
    response = client.delete("/api/v1/packages/1/flow-versions/2")
    assert response.status_code == 422
    assert response.json()["errors"] == {"flow_version": [errors.REMOVE_AFTER_DEPLOY]}
    # still refused once the deployment records are forgotten: it has been deployed
    client.delete("/api/v1/packages/2/virtual-environments/1")
    assert client.delete("/api/v1/packages/2/flow-versions/8").status_code == 422


def test_compare_shows_what_a_deploy_would_change(client):
    response = client.get("/api/v1/packages/4/compare/1")
    assert response.status_code == 200
    rows = {row["flow_id"]: row for row in response.json()["data"]}
    assert rows[1]["package_version"]["id"] == 3
    assert rows[1]["environment_version"]["id"] == 2 and rows[1]["in_sync"] is False
    assert rows[3]["environment_version"]["id"] == 8 and rows[3]["in_sync"] is False
    never_there = client.get("/api/v1/packages/3/compare/1").json()["data"]
    assert [(r["environment_version"], r["in_sync"]) for r in never_there] == [(None, False)] * 2
    in_sync = client.get("/api/v1/packages/1/compare/2").json()["data"]
    assert [row["in_sync"] for row in in_sync] == [True, True]


def test_deploy_makes_versions_live_and_the_replaced_ones_inactive(client, store):
    response = client.post("/api/v1/packages/4/deploy/1", json={"notes": " Q4 release "})
    assert response.status_code == 200
    deployment = response.json()["data"]
    assert deployment["package_id"] == 4 and deployment["virtual_environment_id"] == 1
    assert deployment["notes"] == "Q4 release" and deployment["user"]["id"] == 1
    assert deployment["virtual_environment"]["name"] == "Staging"
    live = {f["flow_version_id"] for f in deployment["flow_version_deployments"]}
    assert live == {3, 6, 9}
    assert all(row["in_sync"] for row in client.get("/api/v1/packages/4/compare/1").json()["data"])
    replaced = [f for f in store().flow_version_deployments.values() if f.id in (2, 3)]
    assert {f.status for f in replaced} == {"inactive"}
    versions = client.get("/api/v1/packages/1", params={"include": "flowVersions"}).json()
    # version 2 is still live in Production, so it stays "deployed"
    assert [v["status"] for v in versions["data"]["flow_versions"]] == ["deployed", "deployed"]
    assert 4 in ids(client.get("/api/v1/flow-version-deployments/packages"))


def test_deploy_again_is_allowed_and_recorded(client):
    client.post("/api/v1/packages/2/deploy/1")
    body = client.get("/api/v1/packages/2", params={"include": "deployments"}).json()["data"]
    assert len(body["deployments"]) == 2


def test_deploy_errors(client):
    empty = client.post("/api/v1/packages/5/deploy/1")
    assert empty.status_code == 422
    assert empty.json()["errors"] == {"package": [errors.EMPTY_PACKAGE]}
    assert client.post("/api/v1/packages/4/deploy/9").status_code == 404
    assert client.post("/api/v1/packages/9/deploy/1").status_code == 404
    bad_notes = client.post("/api/v1/packages/4/deploy/1", json={"notes": 7})
    assert bad_notes.status_code == 422
    assert bad_notes.json()["errors"] == {"notes": ["The notes field must be a string."]}
    assert 4 not in ids(client.get("/api/v1/flow-version-deployments/packages"))


def test_remove_virtual_environment_forgets_the_record_not_the_flows(client):
    response = client.delete("/api/v1/packages/1/virtual-environments/2")
    assert response.status_code == 200
    assert response.json() == {"message": errors.ENVIRONMENT_REMOVED}
    body = client.get("/api/v1/packages/1", params={"include": "virtualEnvironments"}).json()
    assert [ve["id"] for ve in body["data"]["virtual_environments"]] == [1]
    assert all(r["in_sync"] for r in client.get("/api/v1/packages/1/compare/2").json()["data"])
    again = client.delete("/api/v1/packages/1/virtual-environments/2")
    assert again.status_code == 404 and again.json() == {"message": errors.NOT_DEPLOYED_THERE}
    client.delete("/api/v1/packages/1/virtual-environments/1")
    assert ids(client.get("/api/v1/flow-version-deployments/packages")) == [2]
    assert client.delete("/api/v1/packages/1/virtual-environments/7").status_code == 404
