"""The monthly turnover report of a tenant that is not PKP (0.5% final income tax) and the
receivables ageing per customer, with hand-computed figures."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.invoicing.conftest import (
    AGEING,
    INVOICES,
    TURNOVER,
    confirmed_order,
    issued_invoice,
    pkp,
)
from tests.sales.conftest import Shop
from tests.tenant.conftest import field_errors, new_key


async def test_turnover_of_a_month_without_ppn(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await confirmed_order(client, shop)  # Rp 2.568.000, DP 50%
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    await issued_invoice(client, shop.owner, order["id"], "final")
    second = await confirmed_order(
        client,
        shop,
        lines=[{"product_id": shop.product["id"], "color": "putih", "sizes": {"M": 3}}],
    )  # 3 x Rp 55.000 retail price (under the tier) = Rp 165.000
    await issued_invoice(client, shop.owner, second["id"], "final")
    month = dp["issue_date"][:7]
    report = await client.get(TURNOVER, params={"month": month}, headers=shop.owner.headers())
    assert report.status_code == 200, report.text
    body = report.json()
    # 1.284.000 + 1.284.000 + 165.000 = 2.733.000; 0.5% = 13.665.
    assert (body["gross_turnover"], body["tax"], body["invoice_count"]) == (2_733_000, 13_665, 3)
    assert body["tax_rate_per_mille"] == 5 and body["pkp"] is False
    empty = await client.get(TURNOVER, params={"month": "2001-01"}, headers=shop.owner.headers())
    assert (empty.json()["gross_turnover"], empty.json()["tax"]) == (0, 0)
    bad = await client.get(TURNOVER, params={"month": "2026-13"}, headers=shop.owner.headers())
    assert "query.month" in field_errors(bad)


async def test_invoices_with_ppn_are_not_turnover_of_the_final_tax(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await pkp(client, shop)
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    report = await client.get(
        TURNOVER, params={"month": dp["issue_date"][:7]}, headers=shop.owner.headers()
    )
    assert (report.json()["gross_turnover"], report.json()["pkp"]) == (0, True)


async def test_ageing_buckets_per_customer(client: httpx.AsyncClient, shop: Shop) -> None:
    # The credit customer (30 days): due 30 days after issue. The retail one: due at issue.
    credit_order = await confirmed_order(client, shop, shop.credit)
    credit_dp = await issued_invoice(client, shop.owner, credit_order["id"], "down_payment")
    retail_order = await confirmed_order(client, shop, shop.retail)
    retail_dp = await issued_invoice(client, shop.owner, retail_order["id"], "down_payment")
    issued = date.fromisoformat(credit_dp["issue_date"])
    assert date.fromisoformat(credit_dp["due_date"]) == issued + timedelta(days=30)
    assert retail_dp["due_date"] == retail_dp["issue_date"]
    paid = await client.post(
        f"{INVOICES}/{retail_dp['id']}/payments",
        json={"amount": 100_000, "method": "cash", "paid_on": retail_dp["issue_date"]},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert paid.status_code == 200, paid.text
    retail_owed = retail_dp["total"] - 100_000

    async def ageing(as_of: date) -> dict[str, dict[str, int]]:
        response = await client.get(
            AGEING, params={"as_of": as_of.isoformat()}, headers=shop.owner.headers()
        )
        assert response.status_code == 200, response.text
        return {row["customer_name"]: row for row in response.json()["customers"]}

    today = await ageing(issued)
    assert today["PT Kredit"]["not_due"] == credit_dp["total"]
    assert today["Budi Retail"]["days_0_30"] == retail_owed
    later = await ageing(issued + timedelta(days=75))  # credit: 45 days late, retail: 75
    assert later["PT Kredit"]["days_31_60"] == credit_dp["total"]
    assert later["Budi Retail"]["days_61_90"] == retail_owed
    much_later = await ageing(issued + timedelta(days=91))
    assert much_later["Budi Retail"]["days_over_90"] == retail_owed
    assert much_later["PT Kredit"]["days_61_90"] == credit_dp["total"]
    totals = (
        await client.get(
            AGEING,
            params={"as_of": (issued + timedelta(days=91)).isoformat()},
            headers=shop.owner.headers(),
        )
    ).json()["totals"]
    assert totals["total"] == credit_dp["total"] + retail_owed
    # Before the invoices existed nobody owed anything.
    assert await ageing(issued - timedelta(days=1)) == {}
