"""The printable customer invoice as a text-based PDF, in Indonesian or English."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

LABELS = {
    "id": {
        "down_payment": "FAKTUR UANG MUKA",
        "final": "FAKTUR",
        "number": "Nomor",
        "draft": "DRAF",
        "date": "Tanggal",
        "due": "Jatuh tempo",
        "order": "Pesanan",
        "customer": "Pelanggan",
        "npwp": "NPWP",
        "description": "Uraian",
        "qty": "Jumlah",
        "price": "Harga satuan",
        "amount": "Nilai",
        "subtotal": "Subtotal",
        "discount": "Diskon",
        "deduction": "Dikurangi uang muka",
        "tax_base": "Dasar pengenaan pajak",
        "other_tax_base": "DPP nilai lain",
        "ppn": "PPN",
        "total": "Total",
        "paid": "Dibayar",
        "balance": "Sisa tagihan",
        "replaces": "Pengganti faktur",
        "no_ppn": "Penjual bukan PKP: tidak dipungut PPN.",
        "nsfp": "Nomor faktur pajak",
    },
    "en": {
        "down_payment": "DOWN PAYMENT INVOICE",
        "final": "INVOICE",
        "number": "Number",
        "draft": "DRAFT",
        "date": "Date",
        "due": "Due",
        "order": "Order",
        "customer": "Customer",
        "npwp": "Tax id (NPWP)",
        "description": "Description",
        "qty": "Qty",
        "price": "Unit price",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "deduction": "Less down payment",
        "tax_base": "Tax base",
        "other_tax_base": "Other tax base (11/12)",
        "ppn": "VAT (PPN)",
        "total": "Total",
        "paid": "Paid",
        "balance": "Balance due",
        "replaces": "Replaces invoice",
        "no_ppn": "The seller is not VAT-registered (PKP): no VAT charged.",
        "nsfp": "Tax invoice number",
    },
}


def _latin1(text: str) -> str:
    """The core PDF fonts speak Latin-1; anything else prints as `?` rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


def rupiah(amount: int) -> str:
    """Rp 1.234.567 (Indonesian grouping in both languages: it is the currency's own)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def invoice_pdf(
    *,
    locale: str,
    business_name: str,
    seller_npwp: str | None,
    seller_address: str | None,
    invoice: Any,
    lines: list[Any],
    customer: Any,
    replaces_number: str | None,
) -> bytes:
    labels = LABELS["en" if locale == "en" else "id"]
    title = labels[invoice.kind]
    number = invoice.number or labels["draft"]
    pdf = FPDF(format="A4")
    pdf.set_title(f"{title} {number}")
    pdf.set_creator("Garment.id")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin1(business_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for text in (seller_address, f"{labels['npwp']}: {seller_npwp}" if seller_npwp else None):
        if text:
            pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(f"{title} {number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    details = [
        (labels["date"], invoice.issue_date.isoformat() if invoice.issue_date else "-"),
        (labels["due"], invoice.due_date.isoformat() if invoice.due_date else "-"),
        (labels["order"], invoice.order_number),
        (labels["customer"], customer.name),
    ]
    if customer.npwp:
        details.append((labels["npwp"], customer.npwp))
    if replaces_number:
        details.append((labels["replaces"], replaces_number))
    if invoice.nsfp:
        details.append((labels["nsfp"], invoice.nsfp))
    for label, value in details:
        pdf.cell(45, 6, _latin1(f"{label}:"))
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    for width, label in ((95, "description"), (20, "qty"), (35, "price"), (40, "amount")):
        pdf.cell(width, 7, _latin1(labels[label]), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        pdf.cell(95, 7, _latin1(line.description[:60]), border=1)
        pdf.cell(20, 7, str(line.qty), border=1, align="R")
        pdf.cell(35, 7, rupiah(line.unit_price), border=1, align="R")
        pdf.cell(40, 7, rupiah(line.amount), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    totals = [(labels["subtotal"], invoice.subtotal)]
    if invoice.discount:
        totals.append((labels["discount"], -invoice.discount))
    if invoice.deduction:
        totals.append((labels["deduction"], -invoice.deduction))
    totals.append((labels["tax_base"], invoice.price))
    if invoice.pkp:
        totals += [(labels["other_tax_base"], invoice.other_tax_base), (labels["ppn"], invoice.ppn)]
    totals += [
        (labels["total"], invoice.total),
        (labels["paid"], invoice.paid_amount),
        (labels["balance"], invoice.total - invoice.paid_amount),
    ]
    pdf.set_font("Helvetica", "B", 10)
    for label, amount in totals:
        pdf.cell(150, 7, _latin1(label), border=1)
        pdf.cell(40, 7, rupiah(amount), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if not invoice.pkp:
        pdf.ln(3)
        pdf.multi_cell(0, 5, _latin1(labels["no_ppn"]))
    if invoice.notes:
        pdf.ln(3)
        pdf.multi_cell(0, 5, _latin1(invoice.notes))
    return bytes(pdf.output())
