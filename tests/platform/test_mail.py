"""Mail: every template exists in both locales; the file backend writes readable .eml files."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from garment.config import MailSettings
from garment.platform.context import Locale
from garment.platform.mail.mailer import MailTemplates, OutgoingMail, create_mailer


def test_every_template_exists_in_both_locales() -> None:
    templates = MailTemplates()
    indonesian, english = templates.names(Locale.ID), templates.names(Locale.EN)
    assert indonesian == english
    assert "welcome" in indonesian
    for name in indonesian:
        for locale in (Locale.ID, Locale.EN):
            directory = templates.directory / locale.value
            assert (directory / f"{name}.txt.j2").exists(), f"{locale}/{name}.txt.j2"


@pytest.mark.parametrize(
    ("locale", "subject"),
    [(Locale.ID, "Selamat datang di Garment.id, Sari"), (Locale.EN, "Welcome to Garment.id, Sari")],
)
async def test_file_backend_writes_a_mail_in_the_recipients_language(
    tmp_path: Path, locale: Locale, subject: str
) -> None:
    mailer = create_mailer(MailSettings(directory=tmp_path))
    destination = await mailer.send(
        OutgoingMail(
            to="sari@konveksi.test",
            template="welcome",
            locale=locale,
            context={"name": "Sari", "login_url": "http://fe/login"},
        )
    )
    path = Path(destination)
    assert path.parent == tmp_path and path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Subject"] == subject
    assert message["To"] == "sari@konveksi.test"
    assert message["Content-Language"] == locale.value
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "http://fe/login" in body.get_content()


async def test_missing_template_variable_fails_loudly(tmp_path: Path) -> None:
    mailer = create_mailer(MailSettings(directory=tmp_path))
    with pytest.raises(Exception, match="login_url"):
        await mailer.send(
            OutgoingMail(to="a@b.test", template="welcome", locale=Locale.ID, context={"name": "A"})
        )
    assert list(tmp_path.iterdir()) == []
