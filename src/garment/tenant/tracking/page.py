"""The tracking page as HTML: one jinja2 template with autoescape on (every value the tenant or
its staff typed — product names, colours, the shop's name — is escaped), inline CSS sized for a
phone, and no script at all (the route's Content-Security-Policy forbids one)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from garment.platform.context import Locale
from garment.platform.i18n import Message
from garment.tenant.tracking import errors as text
from garment.tenant.tracking.schemas import TrackingView

TEMPLATES_DIR = Path(__file__).parent / "templates"
MONTHS = {
    Locale.ID: (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    Locale.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
# The template's fixed texts, by the name it uses.
LABELS: dict[str, Message] = {
    "order": text.ORDER,
    "status": text.STATUS,
    "order_date": text.ORDER_DATE,
    "due_date": text.DUE_DATE,
    "quantity": text.QUANTITY,
    "payment": text.PAYMENT,
    "total": text.TOTAL,
    "down_payment": text.DOWN_PAYMENT,
    "paid": text.PAID,
    "balance": text.BALANCE,
    "production": text.PRODUCTION,
    "not_in_production": text.NOT_IN_PRODUCTION,
    "size": text.SIZE,
    "ordered": text.ORDERED,
    "delivered": text.DELIVERED,
    "deliveries": text.DELIVERIES,
    "no_deliveries": text.NO_DELIVERIES,
    "language": text.LANGUAGE,
    "not_found_title": text.NOT_FOUND_TITLE,
    "not_found_hint": text.NOT_FOUND_HINT,
}

environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    undefined=StrictUndefined,
    autoescape=True,
    keep_trailing_newline=True,
)


def rupiah(amount: int) -> str:
    """`Rp 1.234.567` (Indonesian digit grouping in both languages: it is the currency's)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def day(value: date | None, locale: Locale) -> str:
    if value is None:
        return text.NO_DUE_DATE.render(locale)
    return f"{value.day} {MONTHS[locale][value.month - 1]} {value.year}"


def labels(locale: Locale) -> dict[str, str]:
    return {name: message.render(locale) for name, message in LABELS.items()}


def render_page(view: TrackingView, locale: Locale) -> str:
    generated: datetime = view.generated_at
    return environment.get_template("page.html.j2").render(
        view=view,
        t=labels(locale),
        lang=locale.value,
        other_lang=(Locale.EN if locale is Locale.ID else Locale.ID).value,
        title=text.PAGE_TITLE.render(locale, number=view.order_number),
        pieces=lambda count: text.PIECES.render(locale, count=count),
        rupiah=rupiah,
        day=lambda value: day(value, locale),
        updated=text.UPDATED.render(locale, time=generated.strftime("%Y-%m-%d %H:%M")),
    )


def render_not_found(locale: Locale) -> str:
    return environment.get_template("not_found.html.j2").render(t=labels(locale), lang=locale.value)
