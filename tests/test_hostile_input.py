"""Hostile input that used to answer 500 or pass where Laravel refuses it: each gets a
documented 4xx in Laravel's shape and changes nothing (issue 12)."""

import json

import pytest

from patchworks_mock.laravel import PHP_INT_MAX, filter_int, json_integer

HUGE = "9" * 5000  # past Python's 4,300-digit limit of int()
JSON = {"Content-Type": "application/json"}


# -- Prefer ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefer",
    [
        f"code={HUGE}",
        f"delay={HUGE}",
        "code=5030000000",  # ten digits
        b"delay=\xb2",  # "²" in latin-1: str.isdigit() takes it, int() does not
        "delay=\u0663".encode(),  # Arabic-Indic 3, as UTF-8
        "code=\uff15\uff10\uff13".encode(),  # fullwidth 503
    ],
)
def test_prefer_takes_only_a_few_ascii_digits(client, store, prefer):
    response = client.post("/api/v1/packages", json={"name": "x"}, headers={"Prefer": prefer})
    assert response.status_code == 400
    assert response.json()["message"].endswith("must be a whole number of at most 9 digits.")
    assert len(response.json()["message"]) < 120  # the value is shortened, not echoed whole
    assert len(store().packages) == 5


def test_prefer_with_nine_digits_is_read(client):
    response = client.get("/api/v1/packages", headers={"Prefer": "code=000000422"})
    assert response.status_code == 422
    response = client.get("/api/v1/packages", headers={"Prefer": "delay=999999999"})
    assert response.status_code == 400
    assert response.json() == {"message": "Prefer: delay=999999999 is over the limit of 60000 ms."}


# -- JSON integers too long for Python's int() -------------------------------------------------


def test_json_integers_are_read_as_php_reads_them():
    assert json_integer(str(PHP_INT_MAX)) == PHP_INT_MAX
    assert json_integer(str(-PHP_INT_MAX - 1)) == -PHP_INT_MAX - 1
    assert isinstance(json_integer(str(PHP_INT_MAX + 1)), float)
    assert isinstance(json_integer(str(-PHP_INT_MAX - 2)), float)
    assert json_integer(HUGE) == float("inf")
    assert json_integer("-" + HUGE) == float("-inf")


def test_a_huge_priority_is_not_an_integer(client):
    before = client.get("/__mock__/state").json()
    response = client.post(
        "/api/v1/packages/5/flow-versions/1", content=f'{{"priority": {HUGE}}}', headers=JSON
    )
    assert response.status_code == 422
    message = "The priority field must be an integer."
    assert response.json() == {"message": message, "errors": {"priority": [message]}}
    assert client.get("/__mock__/state").json() == before


@pytest.mark.parametrize("number", [HUGE, str(PHP_INT_MAX + 1)])
def test_a_priority_past_phps_largest_integer_is_not_an_integer(client, number):
    response = client.post(
        "/api/v1/packages/5/flow-versions/1", content=f'{{"priority": {number}}}', headers=JSON
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"priority": ["The priority field must be an integer."]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/packages", f'{{"name": {HUGE}}}', "name"),
        ("PUT", "/api/v1/packages/1", f'{{"notes": -{HUGE}}}', "notes"),
        ("POST", "/api/v1/packages/1/deploy/1", f'{{"notes": {HUGE}}}', "notes"),
    ],
)
def test_a_huge_integer_where_a_string_is_wanted(client, store, method, path, body, field):
    before = client.get("/__mock__/state").json()
    response = client.request(method, path, content=body, headers=JSON)
    assert response.status_code == 422
    message = f"The {field} field must be a string."
    assert response.json() == {"message": message, "errors": {field: [message]}}
    assert client.get("/__mock__/state").json() == before


def test_a_huge_integer_at_login(anonymous):
    response = anonymous.post(
        "/fabric/api/login", content=f'{{"username": {HUGE}, "password": "x"}}', headers=JSON
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"username": ["The username field must be a string."]}


def test_a_huge_integer_in_a_state_document(client):
    document = client.get("/__mock__/state").json()
    body = client.get("/__mock__/state").text.replace('"id":1,', f'"id":{HUGE},', 1)
    assert body != client.get("/__mock__/state").text
    response = client.put("/__mock__/state", content=body, headers=JSON)
    assert response.status_code == 422
    assert client.get("/__mock__/state").json() == document
    # and the journal, which keeps bodies as sent, still reads
    assert client.get("/__mock__/requests").status_code == 200


# -- PHP's filter_var FILTER_VALIDATE_INT ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("+1", 1),
        ("-0", 0),
        ("+0", 0),
        (" 1", 1),
        ("1 ", 1),
        ("\t1\n", 1),
        (str(PHP_INT_MAX), PHP_INT_MAX),
        (str(-PHP_INT_MAX - 1), -PHP_INT_MAX - 1),
    ],
)
def test_filter_int_passes(text, value):
    assert filter_int(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "01",
        "00",
        "012",
        "1_0",
        "1 000",
        "1.0",
        "1e3",
        "0x1A",
        "1\0",
        "\u0663",
        "\uff11",
        "\u00b2",
        str(PHP_INT_MAX + 1),
        str(-PHP_INT_MAX - 2),
        HUGE,
        "",
        "10^23",
    ],
)
def test_filter_int_fails(text):
    assert filter_int(text) is None


# -- query integers: Laravel's `integer` rule, not Python's int() ------------------------------


@pytest.mark.parametrize(
    "value", ["1_0", "\u0663", "\uff11", "01", "10^23", "1.0", "1e3", str(PHP_INT_MAX + 1), HUGE]
)
@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("path", ["/api/v1/packages", "/api/v1/flow-version-deployments/packages"])
def test_a_query_integer_laravel_refuses(client, path, name, value):
    response = client.get(path, params={name: value})
    assert response.status_code == 422
    message = f"The {name.replace('_', ' ')} field must be an integer."
    assert response.json() == {"message": message, "errors": {name: [message]}}


@pytest.mark.parametrize(("value", "page"), [("+1", 1), (" 1 ", 1), ("\t2\n", 2), ("+2", 2)])
def test_a_query_integer_laravel_reads(client, value, page):
    response = client.get("/api/v1/packages", params={"page": value, "per_page": "3"})
    assert response.status_code == 200
    assert response.json()["meta"]["current_page"] == page


def test_the_largest_php_integer_is_a_page(client):
    response = client.get("/api/v1/packages", params={"page": str(PHP_INT_MAX)})
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_a_bad_query_integer_and_a_bad_include_are_both_refused_in_order(client):
    response = client.get("/api/v1/packages", params={"page": "1_0", "per_page": "01"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["page", "per_page"]
    assert response.json()["message"].endswith("(and 1 more error)")


# -- login: blank is missing, and the spec says so ---------------------------------------------


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u0000", " \u000b "])
@pytest.mark.parametrize("field", ["username", "password"])
def test_a_blank_login_field_is_required(anonymous, field, blank):
    body = {"username": "amira.patel@example.com", "password": "correct-horse", field: blank}
    response = anonymous.post("/fabric/api/login", json=body)
    assert response.status_code == 422
    message = f"The {field} field is required."
    assert response.json() == {"message": message, "errors": {field: [message]}}


@pytest.mark.parametrize("value", ["", " ", "\t\n", " \u000b "])
def test_the_login_contract_says_non_blank(value):
    import yaml
    from jsonschema import Draft4Validator

    from patchworks_mock import bundled

    schemas = yaml.safe_load(bundled.PACKAGES_SPEC.read_text())["components"]["schemas"]
    non_blank = {"$ref": "#/components/schemas/NonBlankString"}
    assert schemas["LoginRequest"]["properties"] == {"username": non_blank, "password": non_blank}
    assert not Draft4Validator(schemas["NonBlankString"]).is_valid(value)
    assert Draft4Validator(schemas["NonBlankString"]).is_valid(" a ")


@pytest.mark.parametrize("field", ["status", "times", "retry_after"])
def test_a_huge_integer_in_a_planned_fault(client, field):
    body = {"status": 503, "times": 1, field: 0}
    text = json.dumps(body).replace(f'"{field}": 0', f'"{field}": {HUGE}')
    response = client.post("/__mock__/faults", content=text, headers=JSON)
    assert response.status_code == 422
    message = f"The {field.replace('_', ' ')} field must be an integer."
    assert response.json() == {"message": message, "errors": {field: [message]}}
    assert client.get("/api/v1/packages").status_code == 200  # nothing was planned


def test_a_repeated_query_integer_is_read_as_php_reads_it_the_last(client):
    assert client.get("/api/v1/packages?page=1_0&page=2").json()["meta"]["current_page"] == 2
    refused = client.get("/api/v1/packages?page=2&page=1_0")
    assert refused.json()["errors"] == {"page": ["The page field must be an integer."]}
