"""Central auth as one object the composition root builds once: accounts, sessions, MFA and
activities share the same components (keys, hashing, limiter), and the tenant directory (the
port tenancy implements) is passed in."""

from __future__ import annotations

from garment.central.auth.accounts import AccountService, LoginResult
from garment.central.auth.activities import ActivityFilter, ActivityService
from garment.central.auth.component import AuthComponents
from garment.central.auth.keys import KeyRing, TokenService
from garment.central.auth.mfa import MfaService
from garment.central.auth.ports import NextStep, TenantDirectory, TenantSummary
from garment.central.auth.sessions import SessionEntry, SessionRecord, SessionService, TokenPair
from garment.platform.cache import InvalidationBus

__all__ = [
    "ActivityFilter",
    "AuthService",
    "LoginResult",
    "SessionEntry",
    "SessionRecord",
    "TokenPair",
    "next_step",
]

SUSPENDED = "suspended"
PENDING = "pending"  # a paid plan waiting for its first payment
CANCELLED = "cancelled"


class AuthService:
    def __init__(
        self,
        components: AuthComponents,
        tenant_directory: TenantDirectory,
        invalidations: InvalidationBus,
    ) -> None:
        self.components = components
        self.tenant_directory = tenant_directory
        self.keys: KeyRing = components.keys
        self.tokens: TokenService = components.tokens
        self.activities = ActivityService(components.settings.auth)
        self.sessions = SessionService(components, self.activities, invalidations)
        self.accounts = AccountService(components, self.sessions, self.activities)
        self.mfa = MfaService(components, self.sessions, self.activities)


def next_step(tenants: list[TenantSummary]) -> NextStep:
    """The decision tree after login (docs/17-auth-business-scenarios.md): no tenant ->
    onboarding; exactly one usable -> auto_select; several usable -> choose_tenant; none usable
    and every one suspended or waiting for its first payment -> billing_required; otherwise
    (e.g. still provisioning) the picker."""
    live = [tenant for tenant in tenants if tenant.status != CANCELLED]
    if not live:
        return NextStep.ONBOARDING
    usable = [tenant for tenant in live if tenant.usable]
    if len(usable) == 1:
        return NextStep.AUTO_SELECT
    if len(usable) > 1:
        return NextStep.CHOOSE_TENANT
    if all(tenant.status in (SUSPENDED, PENDING) for tenant in live):
        return NextStep.BILLING_REQUIRED
    return NextStep.CHOOSE_TENANT
