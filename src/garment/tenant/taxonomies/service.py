"""Taxonomy terms: the garment defaults every tenant starts with, and the tenant's own terms
(typed, optionally under a parent of the same type, archived rather than deleted). Every write
is audited, versioned (If-Match) and announced as a domain event.

Methods that write take the tenant session (the change and its audit row) and the central
session (the outbox event, ADR 0014); the route declares the central session before the tenant
session, so the cluster commits first and an event never announces a change that rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import RecordReader
from garment.platform.errors import RESOURCE_NOT_FOUND, AppError, invalid
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.versioning import apply_changes, check_version
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from garment.tenant.taxonomies.errors import (
    CODE_TAKEN,
    PARENT_CYCLE,
    PARENT_NOT_FOUND,
    PARENT_OTHER_TYPE,
    TAXONOMY_CODE_TAKEN,
)
from garment.tenant.taxonomies.events import TermCreated, TermUpdated
from garment.tenant.taxonomies.models import TaxonomyTerm
from garment.tenant.taxonomies.repository import TERM_KEYSET, TaxonomyTermRepository

ENTITY = "taxonomy_term"
AUDITED = ("type", "code", "parent_id", "label_id", "label_en", "sort_order", "archived")
PARENT_FIELD = "body.parent_id"


class TaxonomyService:
    # The sort key of the term list, and so its cursor format (the router's `cursor` schema).
    keyset = TERM_KEYSET

    async def seed_defaults(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        """Insert the default terms; re-running adds nothing. Returns how many were new."""
        rows = [
            {
                "tenant_id": tenant_id,
                "id": uuid.uuid4(),
                "type": term_type,
                "code": code,
                "label_id": label_id,
                "label_en": label_en,
                "sort_order": position,
            }
            for position, (term_type, code, label_id, label_en) in enumerate(DEFAULT_TERMS)
        ]
        return await TaxonomyTermRepository(session).insert_missing(rows)

    async def list_terms(
        self,
        reader: AsyncSession | RecordReader,
        tenant_id: uuid.UUID,
        *,
        term_type: str | None = None,
        parent_id: uuid.UUID | None = None,
        include_archived: bool = False,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the tenant's terms in picker order (type, position), as rows."""
        return await TaxonomyTermRepository.listed(
            reader,
            tenant_id,
            term_type=term_type,
            parent_id=parent_id,
            include_archived=include_archived,
            page=page,
        )

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, term_id: uuid.UUID
    ) -> TaxonomyTerm:
        """The term (archived ones too); another tenant's id is 404 like a missing one."""
        term = await TaxonomyTermRepository(session).of_tenant(tenant_id, term_id)
        if term is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return term

    async def _check_parent(
        self,
        terms: TaxonomyTermRepository,
        tenant_id: uuid.UUID,
        term_type: str,
        parent_id: uuid.UUID,
        term_id: uuid.UUID | None = None,
    ) -> None:
        """A parent is a live term of the tenant of the same type, and (for an existing term)
        not the term itself nor one of its descendants: 422 naming `body.parent_id`."""
        parent = await terms.of_tenant(tenant_id, parent_id)
        if parent is None or parent.archived:
            raise invalid(PARENT_FIELD, PARENT_NOT_FOUND)
        if parent.type != term_type:
            raise invalid(PARENT_FIELD, PARENT_OTHER_TYPE, type=term_type)
        if term_id is not None and term_id in await terms.ancestor_ids(tenant_id, parent_id):
            raise invalid(PARENT_FIELD, PARENT_CYCLE)

    async def create(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        values: dict[str, Any],
    ) -> TaxonomyTerm:
        """A new term; its code is unique per tenant and type (409 TAXONOMY_CODE_TAKEN)."""
        terms = TaxonomyTermRepository(session)
        term_type, code = str(values["type"]), values["code"]

        def code_taken() -> AppError:
            return AppError(
                TAXONOMY_CODE_TAKEN,
                params={"code": code, "type": term_type},
                errors={"body.code": [CODE_TAKEN.render()]},
            )

        if await terms.code_taken(tenant_id, term_type, code):
            raise code_taken()
        if values.get("parent_id") is not None:
            await self._check_parent(terms, tenant_id, term_type, values["parent_id"])
        now = datetime.now(UTC)
        term = await terms.create_unique(
            TaxonomyTerm(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                created_at=now,
                updated_at=now,
                **{**values, "type": term_type},
            ),
            code_taken,
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=ENTITY,
            entity_id=term.id,
            after=snapshot(term, AUDITED),
        )
        await publish(
            central, TermCreated(tenant_id=tenant_id, term_id=term.id, version=term.version)
        )
        return term

    async def update(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        term_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> TaxonomyTerm:
        """Apply `changes` (only the members the client sent) when `expected_version` (If-Match)
        is still current; a stale one is 409 CONFLICT and changes nothing. A new parent must be
        a live term of the same type that is not this term nor below it (422)."""
        terms = TaxonomyTermRepository(session)
        term = await self.get(session, tenant_id, term_id)
        check_version(term, expected_version)
        for required in ("label_id", "label_en", "sort_order", "archived"):
            if required in changes and changes[required] is None:
                changes.pop(required)
        new_parent = changes.get("parent_id")
        if new_parent is not None and new_parent != term.parent_id:
            await self._check_parent(terms, tenant_id, term.type, new_parent, term.id)
        if not any(getattr(term, name) != value for name, value in changes.items()):
            return term
        before = snapshot(term, AUDITED)
        changes["updated_at"] = datetime.now(UTC)
        await apply_changes(session, term, expected_version, changes)
        after = snapshot(term, AUDITED)
        action = AuditAction.UPDATE
        if before["archived"] != after["archived"]:
            action = AuditAction.ARCHIVE if after["archived"] else AuditAction.RESTORE
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action,
            entity_type=ENTITY,
            entity_id=term.id,
            before=before,
            after=after,
        )
        await publish(
            central,
            TermUpdated(tenant_id=tenant_id, term_id=term.id, version=term.version, action=action),
        )
        return term

    async def archive(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        term_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> TaxonomyTerm:
        """Archive, never delete: products keep the terms they name (their keys reference the
        row); an archived term leaves pickers and cannot be newly chosen. Its children stay."""
        return await self.update(
            session,
            central,
            tenant_id,
            actor_id,
            term_id,
            {"archived": True},
            expected_version=expected_version,
        )

    async def term_type(
        self, session: AsyncSession, tenant_id: uuid.UUID, term_id: uuid.UUID
    ) -> str | None:
        """The type of one of the tenant's live terms (None: no such term), for references
        such as a product's category."""
        return await TaxonomyTermRepository(session).type_of(tenant_id, term_id)
