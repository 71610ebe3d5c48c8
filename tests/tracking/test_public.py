"""The public tracking view (`/api/v1/public/tracking/{token}`) and page (`/t/{token}`): what the
customer sees (stages and per-size progress, due date, DP and balance, deliveries), in id and en;
what never shows (notes, line prices, another order, another tenant); one 404 for every failing
token; the limits per address and per token; views counted and audited."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from garment.tenant.tracking.service import TrackingLimits
from tests.production.conftest import advance, ok, record
from tests.sales.conftest import DELIVERIES, ORDERS, Shop, create_order, pay
from tests.tenant.conftest import new_key, problem
from tests.tracking.conftest import (
    GENEROUS,
    INTERNAL_NOTE,
    PUBLIC,
    create_link,
    expire,
    links_path,
    order_in_production,
    without_request_id,
)


def by_size(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["size"]: row for row in line["sizes"]}


def done(size_row: dict[str, Any]) -> dict[str, int]:
    return {stage["stage"]: stage["done"] for stage in size_row["stages"]}


def forged(tenant_id: uuid.UUID) -> str:
    """A well-formed token naming `tenant_id` whose secret no one issued."""
    tenant_part = base64.urlsafe_b64encode(tenant_id.bytes).rstrip(b"=").decode()
    return f"{tenant_part}.{secrets.token_urlsafe(32)}"


async def test_the_view_shows_progress_per_size_and_payments_but_no_notes_or_prices(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order, jobs = await order_in_production(client, shop)
    black, white = jobs
    await advance(client, shop.owner, black, "S", 6, through="jahit")
    await ok(await record(client, shop.owner, black, "M", "potong", "in", 8))
    await ok(await record(client, shop.owner, black, "M", "potong", "out", 5))
    await advance(client, shop.owner, white, "L", 3)
    link = await create_link(client, shop.owner, order["id"])

    response = await client.get(f"{PUBLIC}/{link['token']}", params={"lang": "en"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    view = response.json()
    assert (view["order_number"], view["status"]) == (order["number"], "in_production")
    assert view["status_label"] == "In production" and view["locale"] == "en"
    assert view["due_date"] == "2027-01-15" and view["in_production"] is True
    assert (view["total"], view["paid_amount"]) == (order["total"], order["paid_amount"])
    assert view["down_payment_due"] == order["down_payment_due"] > 0
    assert view["balance"] == order["total"] - order["paid_amount"] > 0
    assert [stage["label"] for stage in view["stages"]] == [
        "Cutting",
        "Sewing",
        "Finishing",
        "Quality control",
        "Packing",
    ]
    first, second = view["lines"]
    assert (first["color"], first["quantity"], second["color"]) == ("hitam", 16, "putih")
    assert first["product"] == shop.product["name"]
    sizes = by_size(first)
    assert list(sizes) == ["S", "M", "XXL"]
    assert done(sizes["S"]) == {"potong": 6, "jahit": 6, "finishing": 0, "qc": 0, "packing": 0}
    assert done(sizes["M"])["potong"] == 5 and sizes["M"]["ordered"] == 8
    assert done(by_size(second)["L"])["packing"] == 3
    assert view["deliveries"] == []

    # Never the note, a line's amount or unit price, the customer or the order's own ids.
    assert INTERNAL_NOTE not in response.text
    for line in order["lines"]:
        assert line["id"] not in response.text
        for row in line["rows"]:
            assert '"unit_price"' not in response.text and row["id"] not in response.text
    assert {line["amount"] for line in order["lines"]}.isdisjoint(
        {view["total"], view["paid_amount"], view["balance"], view["down_payment_due"]}
    )
    for key in ("notes", "customer_id", "subtotal", "id", "amount"):
        assert key not in view
    assert order["customer_id"] not in response.text and order["id"] not in response.text

    page = await client.get(f"/t/{link['token']}", params={"lang": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert "<script" not in html.lower() and 'name="viewport"' in html
    assert order["number"] in html and "Quality control" in html and "15 January 2027" in html
    assert INTERNAL_NOTE not in html
    for line in order["lines"]:
        assert f"Rp {line['amount']:,}".replace(",", ".") not in html


async def test_language_by_query_or_accept_language(client: httpx.AsyncClient, shop: Shop) -> None:
    order, _ = await order_in_production(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    path = f"{PUBLIC}/{link['token']}"
    default = (await client.get(path)).json()
    assert (default["locale"], default["status_label"]) == ("id", "Sedang diproduksi")
    assert default["stages"][0]["label"] == "Potong"
    english = (await client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"})).json()
    assert (english["locale"], english["status_label"]) == ("en", "In production")
    forced = await client.get(path, params={"lang": "id"}, headers={"Accept-Language": "en"})
    assert forced.json()["locale"] == "id"
    assert (await client.get(path, params={"lang": "fr"})).status_code == 422

    page_id = (await client.get(f"/t/{link['token']}")).text
    assert '<html lang="id">' in page_id and "Sisa tagihan" in page_id
    assert "15 Januari 2027" in page_id and 'href="?lang=en"' in page_id
    page_en = (await client.get(f"/t/{link['token']}", headers={"Accept-Language": "en"})).text
    assert '<html lang="en">' in page_en and "Balance due" in page_en
    # An unknown ?lang= on the page is ignored, never a 422.
    assert '<html lang="id">' in (await client.get(f"/t/{link['token']}?lang=xx")).text


async def test_revoked_expired_unknown_and_malformed_tokens_answer_the_same_404(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    revoked = await create_link(client, shop.owner, order["id"])
    expired = await create_link(client, shop.owner, order["id"])
    live = await create_link(client, shop.owner, order["id"])
    revoke = await client.delete(
        f"{links_path(order['id'])}/{revoked['id']}", headers=shop.owner.headers()
    )
    assert revoke.status_code == 200
    await expire(runtime, shop, expired["id"])
    tokens = [
        revoked["token"],
        expired["token"],
        forged(shop.setup.tenant_id),  # well-formed, unknown secret
        forged(uuid.uuid4()),  # a tenant that does not exist
        live["token"][:-1],  # truncated
        live["token"] + "A",
        "not-a-token",
    ]
    json_answers, pages = [], set()
    for token in tokens:
        body = problem(await client.get(f"{PUBLIC}/{token}"), 404, "TRACKING_LINK_NOT_FOUND")
        json_answers.append(without_request_id(body))
        page = await client.get(f"/t/{token}")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        pages.add(page.text)
    assert all(answer == json_answers[0] for answer in json_answers)
    assert len(pages) == 1 and "Tautan tidak berlaku" in pages.pop()
    assert (await client.get(f"{PUBLIC}/{live['token']}")).status_code == 200

    listed = (await client.get(links_path(order["id"]), headers=shop.owner.headers())).json()
    statuses = {link["id"]: link["status"] for link in listed["data"]}
    assert statuses == {revoked["id"]: "revoked", expired["id"]: "expired", live["id"]: "active"}


async def test_a_token_shows_only_its_own_tenants_order(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    ours, _ = await order_in_production(client, shop)
    theirs, _ = await order_in_production(client, other_shop, notes="RAHASIA TOKO LAIN")
    second = await create_order(client, shop)
    our_link = await create_link(client, shop.owner, ours["id"])
    their_link = await create_link(client, other_shop.owner, theirs["id"])

    mine = await client.get(f"{PUBLIC}/{our_link['token']}")
    assert mine.json()["order_number"] == ours["number"]
    assert second["number"] not in mine.text
    other = await client.get(f"{PUBLIC}/{their_link['token']}")
    assert other.json()["order_number"] == theirs["number"]
    assert "RAHASIA TOKO LAIN" not in other.text

    # Our secret under their tenant's id (and theirs under ours) finds nothing: the hash is
    # looked up under the named tenant's RLS only.
    our_secret = our_link["token"].split(".")[1]
    their_tenant = their_link["token"].split(".")[0]
    swapped = f"{their_tenant}.{our_secret}"
    problem(await client.get(f"{PUBLIC}/{swapped}"), 404, "TRACKING_LINK_NOT_FOUND")
    crossed = f"{our_link['token'].split('.')[0]}.{their_link['token'].split('.')[1]}"
    problem(await client.get(f"{PUBLIC}/{crossed}"), 404, "TRACKING_LINK_NOT_FOUND")


async def test_deliveries_show_numbers_dates_and_sizes_but_not_the_recipient(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order, jobs = await order_in_production(client, shop)
    for job, sizes in zip(jobs, ({"S": 6, "M": 8, "XXL": 2}, {"M": 4, "L": 3}), strict=True):
        for size, qty in sizes.items():
            await advance(client, shop.owner, job, size, qty)
    fresh = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    assert fresh["status"] == "ready"
    assert (await pay(client, shop.owner, order["id"], fresh["balance"])).status_code == 201
    black = fresh["lines"][0]["id"]
    note = await client.post(
        DELIVERIES,
        json={
            "order_id": order["id"],
            "delivered_on": "2026-12-20",
            "recipient": "Pak Joko Penerima",
            "address": "Jl. Rahasia No. 7",
            "notes": "titip satpam, jangan bilang bos",
            "lines": [
                {"line_id": black, "size": "S", "qty": 6},
                {"line_id": black, "size": "M", "qty": 3},
            ],
        },
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert note.status_code == 201, note.text
    link = await create_link(client, shop.owner, order["id"])
    response = await client.get(f"{PUBLIC}/{link['token']}")
    view = response.json()
    assert view["balance"] == 0 and view["status"] == "ready"
    assert view["deliveries"] == [
        {
            "number": note.json()["number"],
            "delivered_on": "2026-12-20",
            "quantity": 9,
            "sizes": {"S": 6, "M": 3},
        }
    ]
    black_sizes = by_size(view["lines"][0])
    delivered = {size: row["delivered"] for size, row in black_sizes.items()}
    assert delivered == {"S": 6, "M": 3, "XXL": 0}
    page = (await client.get(f"/t/{link['token']}")).text
    assert note.json()["number"] in page and "20 Desember 2026" in page
    for secret in ("Pak Joko Penerima", "Jl. Rahasia", "titip satpam", INTERNAL_NOTE):
        assert secret not in response.text and secret not in page


async def test_views_are_counted_and_audited_once_an_hour(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    for _ in range(3):
        assert (await client.get(f"{PUBLIC}/{link['token']}")).status_code == 200
    assert (await client.get(f"/t/{link['token']}")).status_code == 200
    (listed,) = (await client.get(links_path(order["id"]), headers=shop.owner.headers())).json()[
        "data"
    ]
    assert listed["view_count"] == 4 and listed["last_viewed_at"]
    logs = await client.get(
        "/api/v1/tenant/audit-logs",
        params={"entity_type": "tracking_link", "entity_id": link["id"]},
        headers=shop.owner.headers(),
    )
    views = [row for row in logs.json()["data"] if row["action"] == "view"]
    assert len(views) == 1 and views[0]["actor_id"] is None


@pytest.mark.parametrize("which", ["per_ip", "per_token"])
async def test_rate_limited_per_address_and_per_token(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, which: str
) -> None:
    order = await create_order(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    other = await create_link(client, shop.owner, order["id"])
    limit = f"3/{uuid.uuid4().int % 1000 + 60} seconds"  # a bucket of this test's own
    runtime.tracking.limits = TrackingLimits(
        per_ip=limit if which == "per_ip" else GENEROUS.per_ip,
        per_token=limit if which == "per_token" else GENEROUS.per_token,
    )
    for _ in range(3):
        assert (await client.get(f"{PUBLIC}/{link['token']}")).status_code == 200
    limited = await client.get(f"/t/{link['token']}")
    body = problem(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    problem(await client.get(f"{PUBLIC}/{link['token']}"), 429, "RATE_LIMITED")
    # Another token from the same address: held by the address limit only.
    expected = 429 if which == "per_ip" else 200
    assert (await client.get(f"{PUBLIC}/{other['token']}")).status_code == expected
    # Unknown tokens count too (no free guessing), and still answer 429, not 404, when over.
    if which == "per_ip":
        problem(await client.get(f"{PUBLIC}/{forged(shop.setup.tenant_id)}"), 429, "RATE_LIMITED")
