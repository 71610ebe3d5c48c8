"""Central auth as one object the composition root holds: accounts, sessions and MFA share the
same components (keys, hashing, limiter, tenant directory)."""

from __future__ import annotations

from garment.central.auth.accounts import AccountService
from garment.central.auth.component import AuthComponents
from garment.central.auth.mfa import MfaService
from garment.central.auth.sessions import SessionService


class AuthService:
    def __init__(self, components: AuthComponents) -> None:
        self.components = components
        self.sessions = SessionService(components)
        self.accounts = AccountService(components, self.sessions)
        self.mfa = MfaService(components, self.sessions)
