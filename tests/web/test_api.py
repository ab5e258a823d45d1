"""The API as a bank's system meets it: tokens, problem details, pages of lists, narrowing."""

from __future__ import annotations

import base64
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.web.deps import CurrentActor
from tests.web.conftest import csrf_of, login, make_app, token

PROBLEM = "application/problem+json"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_password_grant_gives_a_token_for_the_user(
    client: TestClient, people: dict[str, str]
) -> None:
    done = client.post(
        "/api/v1/token",
        data={
            "grant_type": "password",
            "username": "a-officer",
            "password": "correct horse battery",
        },
    )
    assert done.status_code == 200
    assert done.headers["cache-control"] == "no-store"
    body = done.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "kind": "user",
        "id": me.json()["id"],
        "username": "a-officer",
        "role": "bank_officer",
        "bank": {"code": "BANKA", "name": "甲银行"},
        "uscc": None,
    }


def test_client_credentials_grant_in_the_form_and_as_basic(
    client: TestClient, bank_client: tuple[str, str]
) -> None:
    client_id, secret = bank_client
    form = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    header = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    for done in (form, header):
        assert done.status_code == 200, done.text
        me = client.get("/api/v1/me", headers=bearer(done.json()["access_token"])).json()
        assert (me["kind"], me["id"], me["role"]) == ("client", client_id, "bank_system")
        assert me["bank"]["code"] == "BANKA"


def test_bad_credentials_are_a_401_problem_in_chinese_or_english(
    client: TestClient, people: dict[str, str], bank_client: tuple[str, str]
) -> None:
    attempts = [
        {"grant_type": "password", "username": "ops", "password": "wrong-pass"},
        {"grant_type": "password", "username": "nobody", "password": "wrong-pass"},
        {"grant_type": "client_credentials", "client_id": bank_client[0], "client_secret": "x"},
    ]
    for data in attempts:
        done = client.post("/api/v1/token", data=data)
        assert done.status_code == 401
        assert done.headers["content-type"] == PROBLEM
        assert done.headers["www-authenticate"] == "Bearer"
        problem = done.json()
        assert problem["title"] == "凭据错误"
        assert problem["status"] == 401
        assert problem["instance"] == "/api/v1/token"
        assert problem["type"] == "/problems/invalid-credentials"
        assert problem["error"] in ("invalid_grant", "invalid_client")
    english = client.post("/api/v1/token", data=attempts[0], headers={"Accept-Language": "en"})
    assert english.json()["title"] == "Wrong credentials"
    assert "disabled" in english.json()["detail"]
    by_query = client.post("/api/v1/token?lang=en", data=attempts[0])
    assert by_query.json()["title"] == "Wrong credentials"


def test_unsupported_grant_and_missing_fields(client: TestClient) -> None:
    done = client.post("/api/v1/token", data={"grant_type": "implicit"})
    assert done.status_code == 400
    assert done.json()["error"] == "unsupported_grant_type"
    done = client.post("/api/v1/token", data={"grant_type": "password", "username": "ops"})
    assert done.status_code == 400
    assert "password" in done.json()["detail"]
    missing = client.post("/api/v1/token", data={})
    assert missing.status_code == 422
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["errors"] == [
        {"where": "body.grant_type", "what": "此项必填。", "type": "missing"}
    ]


def test_tokens_that_do_not_resolve_are_401(client: TestClient, people: dict[str, str]) -> None:
    for headers in ({}, bearer("made-up"), {"Authorization": "Basic abc"}, bearer("")):
        done = client.get("/api/v1/me", headers=headers)
        assert done.status_code == 401, headers
        assert done.headers["content-type"] == PROBLEM
        assert done.json()["title"] == "未登录"


def test_lists_are_paged_and_narrowed_to_the_caller(
    client: TestClient, people: dict[str, str], bank_client: tuple[str, str]
) -> None:
    operator = bearer(token(client, "ops"))
    page = client.get("/api/v1/users?page=2&size=2", headers=operator).json()
    assert (page["page"], page["size"], page["total"]) == (2, 2, 6)
    assert [u["username"] for u in page["items"]] == ["a-officer", "b-officer"]
    assert all("password_hash" not in u for u in page["items"])
    default = client.get("/api/v1/users", headers=operator).json()
    assert (default["page"], default["size"], len(default["items"])) == (1, 20, 6)

    def names(headers: dict[str, str]) -> set[str]:
        return {u["username"] for u in client.get("/api/v1/users", headers=headers).json()["items"]}

    assert names(bearer(token(client, "a-admin"))) == {"a-admin", "a-officer"}
    assert names(bearer(token(client, "b-officer"))) == {"b-officer"}
    assert names(bearer(token(client, "shop"))) == {"shop"}
    system = client.post(
        "/api/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": bank_client[0],
            "client_secret": bank_client[1],
        },
    ).json()["access_token"]
    assert client.get("/api/v1/users", headers=bearer(system)).json()["total"] == 0


def test_paging_errors_are_problem_details_per_field(
    client: TestClient, people: dict[str, str]
) -> None:
    operator = bearer(token(client, "ops"))
    done = client.get("/api/v1/users?size=1000&page=0", headers=operator)
    assert done.status_code == 422
    assert done.headers["content-type"] == PROBLEM
    problem = done.json()
    assert problem["type"] == "/problems/validation-error"
    assert problem["title"] == "请求无效"
    assert {(e["where"], e["what"]) for e in problem["errors"]} == {
        ("query.page", "不得小于 1。"),
        ("query.size", "不得大于 100。"),
    }
    english = client.get("/api/v1/users?size=abc", headers={**operator, "Accept-Language": "en"})
    assert english.json()["errors"] == [
        {"where": "query.size", "what": "Enter a whole number.", "type": "int_parsing"}
    ]


def test_unknown_addresses_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json() == {
        "type": "about:blank",
        "title": "未找到",
        "status": 404,
        "detail": "此地址没有内容。",
        "instance": "/api/v1/nothing",
    }
    assert client.delete("/api/v1/me").status_code == 405


def test_an_unexpected_failure_is_a_500_problem_without_a_traceback(
    client: TestClient, app: FastAPI
) -> None:
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret connection string postgres://u:p@h")

    done = client.get("/api/v1/boom", headers={"Accept-Language": "en"})
    assert done.status_code == 500
    assert done.headers["content-type"] == PROBLEM
    assert done.json()["title"] == "Internal server error"
    assert "secret" not in done.text
    assert "Traceback" not in done.text


def test_a_service_error_is_a_problem_in_the_callers_language(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    from puhui.accounts.service import create_bank

    @app.post("/api/v1/banks-test")
    def make(actor: CurrentActor) -> None:
        create_bank(session, actor, "bad code!", "x")

    operator_token = None
    # No actor: 401 first.
    assert client.post("/api/v1/banks-test").status_code == 401
    from tests.accounts.factories import make_user

    make_user(session, "operator", username="ops2")
    operator_token = token(client, "ops2")
    done = client.post("/api/v1/banks-test", headers=bearer(operator_token))
    assert done.status_code == 400
    assert done.headers["content-type"] == PROBLEM
    assert "银行代码" in done.json()["detail"]
    english = client.post(
        "/api/v1/banks-test", headers={**bearer(operator_token), "Accept-Language": "en"}
    )
    assert "bank code" in english.json()["detail"]


def test_the_page_session_works_for_the_api_but_unsafe_calls_need_the_header(
    client: TestClient, app: FastAPI, people: dict[str, str]
) -> None:
    @app.post("/api/v1/echo")
    def echo(actor: CurrentActor) -> dict[str, str]:
        return {"id": actor.id}

    login(client, "ops")
    assert client.get("/api/v1/me").json()["username"] == "ops"
    assert client.post("/api/v1/echo").status_code == 403
    csrf = csrf_of(client.get("/").text)
    assert client.post("/api/v1/echo", headers={"X-CSRF-Token": csrf}).status_code == 200


def test_too_many_failed_token_requests_are_429(
    session: Session, db_engine: Engine, tmp_path: Path, people: dict[str, str]
) -> None:
    app = make_app(session, db_engine, tmp_path, login_attempts=2)
    with TestClient(app) as client:
        data = {"grant_type": "password", "username": "ops", "password": "wrong-pass"}
        codes = [client.post("/api/v1/token", data=data).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        limited = client.post("/api/v1/token", data=data)
        assert limited.headers["content-type"] == PROBLEM
        assert int(limited.headers["retry-after"]) > 0
        assert "秒后再试" in limited.json()["detail"]


def test_openapi_documents_the_api_and_only_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    # The shell's own operations; domains add theirs, all under /api/v1 (no page is listed).
    assert {"/api/v1/token", "/api/v1/me", "/api/v1/users"} <= set(schema["paths"])
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    flows = schema["components"]["securitySchemes"]["bearer"]["flows"]
    assert set(flows) == {"password", "clientCredentials"}
    users = schema["paths"]["/api/v1/users"]["get"]
    assert {p["name"] for p in users["parameters"]} == {"page", "size"}
    assert PROBLEM in users["responses"]["401"]["content"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "/api/v1/users" in docs.text
    assert client.get("/docs").status_code == 404  # no Swagger UI from a CDN


def test_health(client: TestClient) -> None:
    done = client.get("/healthz")
    assert done.status_code == 200
    assert done.json()["status"] == "ok"


def test_actor_is_not_taken_from_the_request(client: TestClient, people: dict[str, str]) -> None:
    # Headers that look like identity change nothing: only the token decides.
    headers = {**bearer(token(client, "shop")), "X-Role": "operator", "X-Bank": "BANKA"}
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["role"] == "enterprise"
    assert me["bank"] is None
    assert Actor.system().is_operator
