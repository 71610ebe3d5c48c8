"""The tracking page in a real browser: headless Chromium on a phone-sized viewport, against a
real `garment serve` over HTTP, with JavaScript off (the page needs none). The rendered HTML
shows the stages, sizes, DP and balance of its order and never another order's number, the
line prices or the internal note; a screenshot is kept as `artifacts/tracking-phone.png`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import ViewportSize, async_playwright

from garment.config import Settings
from tests.drills.support import running_server
from tests.production.conftest import advance, ok, record
from tests.sales.conftest import Shop, create_order
from tests.tracking.browser import LAUNCH_ARGS
from tests.tracking.conftest import INTERNAL_NOTE, create_link, links_path, order_in_production

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SCREENSHOT = ARTIFACTS / "tracking-phone.png"
PHONE: ViewportSize = {"width": 390, "height": 844}
OTHER_NOTE = "Pesanan kedua: sablon logo emas, harga khusus"


def rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


@pytest.mark.slow
async def test_the_page_on_a_phone_in_chromium(
    settings: Settings,
    tmp_path: Path,
    client: httpx.AsyncClient,
    shop: Shop,
    other_shop: Shop,
    chromium: str,
) -> None:
    order, (black, white) = await order_in_production(client, shop)
    await advance(client, shop.owner, black, "S", 6, through="qc")
    await advance(client, shop.owner, black, "M", 8, through="jahit")
    await ok(await record(client, shop.owner, black, "XXL", "potong", "in", 2))
    await advance(client, shop.owner, white, "M", 4)
    second = await create_order(
        client,
        shop,
        notes=OTHER_NOTE,
        lines=[{"product_id": shop.product["id"], "color": "navy", "sizes": {"XL": 40}}],
    )
    elsewhere, _ = await order_in_production(client, other_shop, notes="CATATAN TOKO LAIN")
    link = await create_link(client, shop.owner, order["id"])
    revoked = await create_link(client, shop.owner, order["id"])
    gone = await client.delete(
        f"{links_path(order['id'])}/{revoked['id']}", headers=shop.owner.headers()
    )
    assert gone.status_code == 200

    ARTIFACTS.mkdir(exist_ok=True)
    async with running_server(settings, tmp_path) as server, async_playwright() as playwright:
        base = str(server.http.base_url).rstrip("/")
        browser = await playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            context = await browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="id-ID",
                java_script_enabled=False,
            )
            page = await context.new_page()
            response = await page.goto(f"{base}/t/{link['token']}")
            assert response is not None and response.status == 200
            html = await page.content()
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            # Its order: number, status, every stage of the routing, each size, DP, balance.
            assert order["number"] in html and "Sedang diproduksi" in html
            for stage in ("Potong", "Jahit", "Finishing", "QC", "Packing"):
                assert f'<th scope="row">{stage}</th>' in html
            for size in ("S", "M", "XXL", "L"):
                assert f'<th scope="col">{size}</th>' in html
            assert rupiah(order["down_payment_due"]) in html
            assert rupiah(order["total"] - order["paid_amount"]) in html
            assert rupiah(order["total"]) in html and "15 Januari 2027" in html
            # Never the other orders, the line prices or the notes.
            assert second["number"] not in html and OTHER_NOTE not in html
            assert second["id"] not in html and "navy" not in html
            assert elsewhere["id"] not in html and "CATATAN TOKO LAIN" not in html
            assert INTERNAL_NOTE not in html
            for line in order["lines"]:
                assert rupiah(line["amount"]) not in html
                for row in line["rows"]:
                    assert rupiah(row["unit_price"]) not in html
            assert rupiah(second["total"]) not in html
            assert "<script" not in html.lower()
            # Readable on the phone: the page is laid out for the viewport's width.
            width = await page.locator("main").bounding_box()
            assert width is not None and width["width"] <= PHONE["width"]

            # The language link (a plain link: no script) switches to English.
            await page.click("a[hreflang=en]")
            english = await page.content()
            assert "Balance due" in english and "Quality control" in english

            # A revoked link is the one not-found page.
            missing = await page.goto(f"{base}/t/{revoked['token']}")
            assert missing is not None and missing.status == 404
            assert "Tautan tidak berlaku" in await page.content()
            assert order["number"] not in await page.content()
        finally:
            await browser.close()
        # The request log names the route, never the token in the address.
        logged = server.log_file.read_text()
        assert "/t/{token}" in logged
        assert link["token"] not in logged and revoked["token"] not in logged
    assert SCREENSHOT.stat().st_size > 10_000
