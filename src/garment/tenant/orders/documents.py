"""The printable delivery note (surat jalan) as a text-based PDF, in Indonesian or English."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

LABELS = {
    "id": {
        "title": "SURAT JALAN",
        "number": "Nomor",
        "date": "Tanggal",
        "order": "Pesanan",
        "customer": "Pelanggan",
        "recipient": "Penerima",
        "address": "Alamat",
        "product": "Produk / Warna",
        "size": "Ukuran",
        "qty": "Jumlah",
        "total": "Total potong",
        "notes": "Catatan",
        "sender": "Pengirim",
        "receiver": "Diterima oleh",
    },
    "en": {
        "title": "DELIVERY NOTE",
        "number": "Number",
        "date": "Date",
        "order": "Order",
        "customer": "Customer",
        "recipient": "Recipient",
        "address": "Address",
        "product": "Product / Colour",
        "size": "Size",
        "qty": "Quantity",
        "total": "Total pieces",
        "notes": "Notes",
        "sender": "Sender",
        "receiver": "Received by",
    },
}


def _latin1(text: str) -> str:
    """The core PDF fonts speak Latin-1; anything else prints as `?` rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


def delivery_note_pdf(
    *,
    locale: str,
    business_name: str,
    delivery: Any,
    order: Any,
    customer_name: str,
    product_names: dict[Any, str],
) -> bytes:
    labels = LABELS["en" if locale == "en" else "id"]
    pdf = FPDF(format="A4")
    pdf.set_title(f"{labels['title']} {delivery.number}")
    pdf.set_creator("Garment.id")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(business_name), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, f"{labels['title']} {delivery.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        (labels["date"], delivery.delivered_on.isoformat()),
        (labels["order"], order.number),
        (labels["customer"], customer_name),
        (labels["recipient"], delivery.recipient or "-"),
        (labels["address"], delivery.address or "-"),
    ):
        pdf.cell(40, 6, _latin1(f"{label}:"))
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(100, 7, _latin1(labels["product"]), border=1)
    pdf.cell(40, 7, _latin1(labels["size"]), border=1)
    pdf.cell(40, 7, _latin1(labels["qty"]), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    lines = {line.id: line for line in order.lines}
    for item in delivery.lines:
        line = lines.get(item.line_id)
        product = product_names.get(line.product_id, "") if line else ""
        color = line.color if line else ""
        pdf.cell(100, 7, _latin1(f"{product} / {color}"), border=1)
        pdf.cell(40, 7, _latin1(item.size), border=1)
        pdf.cell(40, 7, str(item.qty), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(140, 7, _latin1(labels["total"]), border=1)
    pdf.cell(40, 7, str(delivery.quantity), border=1, new_x="LMARGIN", new_y="NEXT")
    if delivery.notes:
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, _latin1(f"{labels['notes']}: {delivery.notes}"))
    pdf.ln(16)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(90, 6, _latin1(labels["sender"]))
    pdf.cell(90, 6, _latin1(labels["receiver"]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
