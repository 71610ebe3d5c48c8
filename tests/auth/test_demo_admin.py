"""The newcomer path: a verified demo platform admin, created once, password kept in data_dir."""

from __future__ import annotations

import stat
from pathlib import Path

from garment.app import create_app
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from tests.conftest import make_client, settings_for


async def test_demo_admin_is_created_once_and_can_log_in(targets: Targets, tmp_path: Path) -> None:
    settings = settings_for(
        targets,
        tmp_path / "mail",
        data_dir=tmp_path / "data",
        demo_data=True,
        auth={
            "secret_key": "demo-test-key-0123456789",
            "ip_rate_limit": "1000/minute",
            "demo_admin_email": f"admin-{tmp_path.name[-8:]}@example.com",
        },
    )
    first = await Runtime.create(settings, migrate=False)
    try:
        password_file = settings.data_dir / "demo-admin-password"
        password = password_file.read_text()
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert any(password in line for line in first.announcements)
        async with make_client(create_app(runtime=first)) as http:
            response = await http.post(
                "/api/v1/auth/login",
                json={"email": settings.auth.demo_admin_email, "password": password},
            )
        assert response.status_code == 200, response.text
        assert response.json()["user"]["is_platform_admin"] is True
        assert response.json()["user"]["email_verified"] is True
    finally:
        await first.close()
    second = await Runtime.create(settings, migrate=False)
    try:
        assert password_file.read_text() == password
        assert any(password in line for line in second.announcements)
    finally:
        await second.close()


def test_configured_databases_never_get_demo_data(targets: Targets, tmp_path: Path) -> None:
    settings = settings_for(targets, tmp_path, demo_data=None)
    assert not settings.uses_embedded_database
    assert not settings.should_seed_demo_data
