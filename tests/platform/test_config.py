"""Configuration precedence: explicit > environment > garment.toml > defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from garment.cli import app as cli
from garment.config import CONFIG_FILE_ENV, MailBackend, Settings, get_settings
from garment.platform.settings_docs import effective_settings, setting_docs


@pytest.fixture
def toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "garment.toml"
    path.write_text(
        'environment = "production"\n'
        "db_pool_size = 3\n"
        '[http]\nport = 9100\nhost = "0.0.0.0"\n'
        '[mail]\nbackend = "smtp"\nsmtp_password = "toml-secret"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path


def test_defaults_work_without_any_configuration() -> None:
    settings = Settings()
    assert settings.uses_embedded_database
    assert settings.should_auto_migrate
    assert settings.should_seed_demo_data
    assert settings.http.port == 8000
    assert settings.mail.backend is MailBackend.FILE


def test_toml_overrides_defaults(toml_file: Path) -> None:
    settings = Settings()
    assert settings.http.port == 9100
    assert settings.db_pool_size == 3
    assert settings.mail.backend is MailBackend.SMTP
    assert not settings.should_seed_demo_data  # production never seeds demo data


def test_environment_overrides_toml(toml_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_HTTP__PORT", "9200")
    monkeypatch.setenv("GARMENT_DB_POOL_SIZE", "7")
    settings = Settings()
    assert settings.http.port == 9200
    assert settings.http.host == "0.0.0.0"  # untouched keys of the section still come from TOML
    assert settings.db_pool_size == 7


def test_explicit_values_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_DB_POOL_SIZE", "7")
    assert Settings(db_pool_size=2).db_pool_size == 2


def test_clusters_from_json_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_DATABASE_URL", "postgresql://app@db.internal/central")
    monkeypatch.setenv(
        "GARMENT_CLUSTERS",
        json.dumps({"default": "postgresql://app@c1/x", "jkt-2": "postgresql://app@c2/y"}),
    )
    settings = Settings()
    assert set(settings.clusters) == {"default", "jkt-2"}
    assert not settings.uses_embedded_database
    assert not settings.should_auto_migrate
    assert not settings.should_seed_demo_data


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("GARMENT_DATABASE_URL", "mysql://x@y/z"),
        ("GARMENT_HTTP__PORT", "99999"),
        ("GARMENT_CLUSTERS", '{"a": "redis://x"}'),
    ],
)
def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()


def test_every_key_is_documented() -> None:
    docs = setting_docs()
    assert len(docs) > 20
    for doc in docs:
        assert doc.description, f"{doc.key} has no description"
        assert doc.env.startswith("GARMENT_")


def test_effective_settings_mask_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_DATABASE_URL", "postgresql://app:hunter2@db/central")
    monkeypatch.setenv("GARMENT_MAIL__SMTP_PASSWORD", "smtp-secret")
    values = effective_settings(Settings())
    dumped = json.dumps(values, default=str)
    assert "hunter2" not in dumped and "smtp-secret" not in dumped
    assert values["database_url"] == "postgresql://app:********@db/central"
    assert values["mail.smtp_password"] == "********"


def test_config_show_cli_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_MAIL__SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("GARMENT_CLUSTERS", '{"default": "postgresql://app:pw123@c1/x"}')
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["config", "show", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "smtp-secret" not in result.output and "pw123" not in result.output
    assert json.loads(result.output)["clusters"]["default"] == "postgresql://app:********@c1/x"


def test_invalid_configuration_exits_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENT_HTTP__PORT", "not-a-port")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["config", "show"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "Invalid configuration" in result.output
