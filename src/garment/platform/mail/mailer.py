"""Outgoing mail: templates in Indonesian and English, a file backend and an SMTP backend.

The file backend (the default) writes every mail as an `.eml` file under `mail.directory` and
logs where it went, so a newcomer can read the verification mail without any SMTP server. Mail
bodies carry single-use tokens, so only the recipient, template and file path are logged.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import structlog
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from garment.config import MailBackend, MailSettings
from garment.platform.context import DEFAULT_LOCALE, Locale

logger = structlog.get_logger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


class MailTemplates:
    """`templates/<locale>/<name>.subject.j2`, `<name>.txt.j2` and optionally `<name>.html.j2`."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.directory = directory
        self.environment = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=True,
        )

    def names(self, locale: Locale) -> set[str]:
        return {
            path.name.removesuffix(".subject.j2")
            for path in (self.directory / locale.value).glob("*.subject.j2")
        }

    def render(self, name: str, locale: Locale, context: dict[str, Any]) -> RenderedMail:
        def render_part(part: str) -> str:
            template = self.environment.get_template(f"{locale.value}/{name}.{part}")
            return template.render(**context)

        subject = " ".join(render_part("subject.j2").split())
        text = render_part("txt.j2")
        try:
            html: str | None = render_part("html.j2")
        except TemplateNotFound:
            html = None
        return RenderedMail(subject=subject, text=text, html=html)


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    to: str
    template: str
    locale: Locale
    context: dict[str, Any]


class MailTransport(Protocol):
    async def deliver(self, message: EmailMessage) -> str: ...


class FileTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deliver(self, message: EmailMessage) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        recipient = re.sub(r"[^A-Za-z0-9@._-]", "_", str(message["To"]))[:80]
        path = self.directory / f"{stamp}-{recipient}.eml"
        await asyncio.to_thread(self._write, path, message.as_bytes())
        return str(path)

    def _write(self, path: Path, data: bytes) -> None:
        """Written under a temporary name and renamed: whoever reads the directory (a
        developer's mail viewer, a test waiting for a link) sees a whole mail or none."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)


class SmtpTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def deliver(self, message: EmailMessage) -> str:
        password = self.settings.smtp_password
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=password.get_secret_value() if password else None,
            start_tls=self.settings.smtp_starttls,
            timeout=self.settings.smtp_timeout_seconds,
        )
        return f"smtp://{self.settings.smtp_host}:{self.settings.smtp_port}"


class Mailer:
    def __init__(
        self, settings: MailSettings, transport: MailTransport, templates: MailTemplates
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.templates = templates

    async def send(self, mail: OutgoingMail) -> str:
        """Render and deliver one mail; returns where it went. Raises on failure, so the
        listener or job that called it is retried."""
        locale = mail.locale if mail.locale in (Locale.ID, Locale.EN) else DEFAULT_LOCALE
        rendered = self.templates.render(mail.template, locale, mail.context)
        message = build_message(self.settings.sender, mail.to, rendered, locale)
        destination = await self.transport.deliver(message)
        logger.info(
            "mail.sent",
            to=mail.to,
            template=mail.template,
            locale=locale.value,
            destination=destination,
            message_id=message["Message-ID"],
        )
        return destination


def build_message(sender: str, to: str, rendered: RenderedMail, locale: Locale) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="garment.local")
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    # After set_content, which drops every Content-* header set before it.
    message["Content-Language"] = locale.value
    return message


def create_mailer(settings: MailSettings, default_directory: Path | None = None) -> Mailer:
    transport: MailTransport
    if settings.backend is MailBackend.SMTP:
        transport = SmtpTransport(settings)
    else:
        directory = settings.directory or default_directory or Path(".garment/mail")
        transport = FileTransport(directory)
    return Mailer(settings, transport, MailTemplates())
