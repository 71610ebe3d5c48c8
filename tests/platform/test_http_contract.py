"""Every error is problem+json with a code and the request id; both locales; request ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from garment.app import create_app
from garment.platform.errors import CONFLICT, PLAN_LIMIT_REACHED, AppError, registered_errors
from garment.runtime import Runtime
from tests.conftest import make_client

PROBLEM = "application/problem+json"


class Widget(BaseModel):
    name: str = Field(min_length=3)
    quantity: int = Field(ge=1)


def probe_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/_probe")

    @router.post("/widgets")
    async def create_widget(widget: Widget) -> Widget:
        return widget

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret-dsn postgresql://app:hunter2@db/x exploded")

    @router.get("/limit")
    async def limit() -> None:
        raise AppError(
            PLAN_LIMIT_REACHED,
            params={"limit": "max_products", "usage": 50, "maximum": 50},
            extra={"limit": "max_products", "usage": 50, "maximum": 50},
        )

    @router.get("/conflict")
    async def conflict() -> None:
        raise AppError(CONFLICT)

    return router


@pytest.fixture(scope="module")
def probe_app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime=runtime)
    app.include_router(probe_router())
    return app


@pytest.fixture
async def probe(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(probe_app) as http:
        yield http


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["type"].endswith(f"#{code}")
    return dict(body)


async def test_unknown_route_is_indonesian_problem_by_default(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/no/such/route"), 404, "RESOURCE_NOT_FOUND")
    assert body["detail"] == "Data yang diminta tidak ditemukan."
    assert body["instance"] == "/no/such/route"


async def test_unknown_route_in_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route", headers={"Accept-Language": "en-US,en;q=0.9"})
    body = assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert body["detail"] == "The requested resource was not found."
    assert response.headers["content-language"] == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id", "id"),
        ("en", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.4, id;q=0.8", "id"),
        ("de", "id"),
        ("", "id"),
    ],
)
async def test_locale_negotiation(client: httpx.AsyncClient, header: str, expected: str) -> None:
    response = await client.get("/missing", headers={"Accept-Language": header})
    assert response.headers["content-language"] == expected


async def test_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET"


async def test_allow_names_every_method_of_a_path_served_by_several_routes(
    client: httpx.AsyncClient,
) -> None:
    # GET and POST are two routes; Starlette alone would name only the first one's method.
    response = await client.patch("/api/v1/tenant/members/invitations")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"
    one = await client.put(
        "/api/v1/tenant/members/invitations/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12
    )
    assert one.headers["allow"] == "DELETE"


async def test_validation_errors_name_fields_in_both_locales(probe: httpx.AsyncClient) -> None:
    bad = {"name": "ab", "quantity": 0}
    body = assert_problem(
        await probe.post("/api/v1/_probe/widgets", json=bad), 422, "VALIDATION_FAILED"
    )
    errors = body["errors"]
    assert isinstance(errors, dict)
    assert errors["body.name"] == ["Minimal 3 karakter."]
    assert errors["body.quantity"] == ["Minimal 1."]
    english = await probe.post(
        "/api/v1/_probe/widgets", json=bad, headers={"Accept-Language": "en"}
    )
    assert "at least 3 characters" in english.json()["errors"]["body.name"][0]


async def test_malformed_json_is_a_validation_problem(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        "/api/v1/_probe/widgets",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_crash_is_generic_500_without_internals(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/api/v1/_probe/crash", headers={"X-Request-ID": "trace-500"})
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert body["request_id"] == "trace-500"
    assert "trace-500" in str(body["detail"])
    text = response.text
    for leak in ("hunter2", "postgresql://", "Traceback", "RuntimeError", "exploded"):
        assert leak not in text


async def test_app_error_carries_params_and_extra_members(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/api/v1/_probe/limit", headers={"Accept-Language": "en"})
    body = assert_problem(response, 402, "PLAN_LIMIT_REACHED")
    assert body["detail"] == "Your plan limit is reached (max_products: 50 of 50)."
    assert body["usage"] == 50


async def test_request_id_is_echoed_when_safe(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "fe-7f3a.42"})
    assert response.headers["x-request-id"] == "fe-7f3a.42"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 200, "inject\u00e9"])
async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient, unsafe: str) -> None:
    response = await client.get("/missing", headers=[(b"X-Request-ID", unsafe.encode("utf-8"))])
    generated = response.headers["x-request-id"]
    assert generated != unsafe
    assert len(generated) == 32
    assert response.json()["request_id"] == generated


async def test_request_id_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert first != second


async def test_error_catalogue_serves_every_code_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/meta/errors")
    assert response.status_code == 200
    served = {entry["code"]: entry for entry in response.json()["data"]}
    assert set(served) == {spec.code for spec in registered_errors()}
    for required in (
        "VALIDATION_FAILED",
        "AUTH_TOKEN_EXPIRED",
        "TENANT_CONTEXT_MISMATCH",
        "RESOURCE_NOT_FOUND",
        "CLUSTER_UNAVAILABLE",
        "RATE_LIMITED",
        "INTERNAL_ERROR",
    ):
        assert served[required]["message"]["id"]
        assert served[required]["message"]["en"]
        assert served[required]["fe_action"]


async def test_openapi_documents_errors_as_problem_json(probe: httpx.AsyncClient) -> None:
    document = (await probe.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "Problem" in document["components"]["schemas"]
    operation = document["paths"]["/api/v1/_probe/widgets"]["post"]
    for status in ("422", "500"):
        content = operation["responses"][status]["content"]
        assert list(content) == [PROBLEM]
    docs = await probe.get("/docs")
    assert docs.status_code == 200
