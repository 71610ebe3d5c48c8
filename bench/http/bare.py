"""The bare baseline: Starlette + asyncpg on the same PostgreSQL the real server uses, as the
same application role, with none of our chain (no FastAPI, pydantic, SQLAlchemy sessions,
dependency resolution or middleware). Served by uvicorn, one worker, in its own process:

    BENCH_CENTRAL_URL=... BENCH_CLUSTER_URL=... BENCH_SECRET_KEY_FILE=.../secret_key \
        python -m uvicorn bench.http.bare:create_app --factory --port 8001

Each endpoint does what ours does on the same request with warm caches, no more and no less
where it touches PostgreSQL, and answers the same JSON. Statements are imported from garment and
compiled for asyncpg once (`bench.sql`), so the bare side sends the very SQL text ours sends and
cannot drift from it.

- The tenant chain (`GET /tenant-me`, `GET /tenant-list`): the bearer token is verified with the
  same library, algorithm, checks and public keys as ours (PyJWT, EdDSA, `kid`, `typ`, `iss`,
  `aud`, required claims, leeway) and, like ours (`TokenService.verify`), the verified claims are
  cached per token until they expire. The member (what ours caches in-process with LISTEN/NOTIFY
  invalidation: session, tenant, membership, roles) is a plain dict, filled once by
  `POST /seed-member` with ours' own `/tenant/me` answer; `X-Tenant-ID` must name the token's
  tenant (id or slug) as in ours.
- `GET /tenant-me`: that chain, then the member's JSON from the dict. ZERO database round trips,
  as ours makes none on warm caches.
- `GET /tenant-list?limit=20`: that chain, then exactly ours' three cluster round trips: `BEGIN`
  with `set_config('app.tenant_id', …, true)` in the same message (garment's
  `TenantBindingConnection`, the connection class of ours' cluster pools), the keyset SELECT of
  `TaxonomyTermRepository` (`term_list`: `WHERE tenant_id = $1 AND archived IS false ORDER BY
  type, sort_order, id LIMIT $2`, limit + 1 rows for the next cursor), `COMMIT`; answered
  `{"data": [...], "meta": {"next_cursor", "limit"}}` like ours.
- `POST /refresh` `{"refresh_token"}`: ours' rotation, two statements alone on one central
  connection, no transaction block: `PEEK` (token and session, `token_hash = any(candidates)`)
  and `ROTATE` (one CTE: lock both rows while the token is unused and the session live, insert
  the successor, mark used with the grace copy, drop the grandparent's copy, touch the session,
  insert the activity), both from
  `garment.central.auth.repository`. Token hashes are HMAC-SHA256 by `TokenHasher` with ours' key
  (derived from ours' `secret_key` file like ours derives it) and ours' candidates (keyed plus
  legacy). The same checks in Python (revoked, expired, fingerprint, used). Not done: the access
  token (EdDSA signing) and the grace-copy encryption; a random blob of the size of ours' grace
  copy is stored instead, so PostgreSQL writes as much as for ours.
- `POST /login` `{"email", "password"}`: the user by email (the statement of
  `UserRepository.by_email`), then the argon2id verify off the event loop exactly as ours
  (`PasswordHashing.verify_off_loop`: an anyio worker thread, a CapacityLimiter of cpu_count,
  the same parameters). Not done: ours' throttle look-ups, opening the session (session, token,
  device and activity rows), signing the access token and listing the tenants.
- `POST /seed-chains` `{"count", "fingerprint", "email"}`: that many sessions (of that user),
  each with a first refresh token, for `/refresh` to rotate.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import String, bindparam, func, insert, select, union
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.sql import driver_query, no_reset
from garment.central.auth.keys import ALGORITHM, REQUIRED_CLAIMS, TOKEN_TYPE
from garment.central.auth.models import User
from garment.central.auth.passwords import PasswordHashing
from garment.central.auth.ports import AUDIENCE_TENANT, ActivityType, TokenScope
from garment.central.auth.repository import PEEK, ROTATE
from garment.central.auth.sessions import TokenPair, fingerprint_hash, new_refresh_token
from garment.config import AuthSettings
from garment.platform.rls import TenantBindingConnection
from garment.platform.token_hashing import TokenHasher, derive_hash_key
from garment.tenant.audit.models import AuditLog
from garment.tenant.production.repository import board_statements
from garment.tenant.production.service import compose_board
from garment.tenant.products.models import Product, ProductVariant
from garment.tenant.products.repository import product_list
from garment.tenant.products.service import variant_sku
from garment.tenant.products.states import ProductSort
from garment.tenant.taxonomies.repository import term_list

TERMS = term_list(
    False, False, False
)  # no type or parent filter, archived hidden: our default list
TERM_PAGE = driver_query(TERMS.first)
PRODUCTS = product_list(ProductSort.NEWEST, False, False, False)  # ours' default product list
PRODUCT_PAGE = driver_query(PRODUCTS.first)
BOARD_JOBS, BOARD_COUNTERS, BOARD_ROUTINGS = (driver_query(q) for q in board_statements())
# The statements of ours' `POST /tenant/production/events` (`in` at the first stage) with an
# Idempotency-Key: claim the key, read the job, lock the counter row, change it, append the
# event, read the size's counters, store the response; then the outbox event and the NOTIFY of
# the board stream on central.
PIECE_CLAIM = (
    "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, method, path, state, "
    "created_at, expires_at) VALUES ($1, $2, $3, 'POST', $4, 'pending', now(), "
    "now() + interval '24 hours') ON CONFLICT (tenant_id, key) DO UPDATE SET "
    "fingerprint = excluded.fingerprint WHERE idempotency_keys.expires_at <= now() RETURNING key"
)
PIECE_JOB = "SELECT * FROM production_jobs WHERE tenant_id = $1 AND id = $2"
PIECE_LOCK = (
    "SELECT * FROM production_counters WHERE tenant_id = $1 AND job_id = $2 AND size = $3 "
    "AND stage = ANY($4::text[]) ORDER BY position FOR UPDATE"
)
PIECE_UPDATE = (
    "UPDATE production_counters SET entered = $5, received = $6 "
    "WHERE tenant_id = $1 AND job_id = $2 AND size = $3 AND stage = $4"
)
PIECE_EVENT = (
    "INSERT INTO production_events (tenant_id, id, job_id, order_id, size, stage, kind, "
    "quantity, worker, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "RETURNING seq, occurred_at"
)
PIECE_COUNTERS = (
    "SELECT * FROM production_counters WHERE tenant_id = $1 AND job_id = $2 "
    "ORDER BY job_id, position, size"
)
PIECE_STORE = (
    "UPDATE idempotency_keys SET state = 'completed', response_status = 201, "
    "response_headers = $3::jsonb, response_body = $4 WHERE tenant_id = $1 AND key = $2"
)
PIECE_OUTBOX = (
    "INSERT INTO outbox_events (event_id, name, payload, request_id) VALUES ($1, $2, $3, $4)"
)
# The statements of ours' `POST /tenant/products` (no Idempotency-Key), in ours' order and with
# ours' shapes (the SKU check over the product and its variants, one multi-row insert of the
# grid), compiled from garment's own tables: serialize creations per tenant, count the products
# against `max_products`, check the SKUs, insert the product, its variants and the audit row.
CREATE_GRID = 20  # the bench's grid: 5 sizes x 4 colours
PRODUCT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('products:' || $1, 0))"
PRODUCT_COUNT = driver_query(
    select(func.count())
    .select_from(Product)
    .where(Product.tenant_id == bindparam("tenant_id"), Product.status != bindparam("status"))
)
PRODUCT_SKUS_TAKEN = driver_query(
    union(
        select(Product.sku).where(
            Product.tenant_id == bindparam("tenant_id"),
            Product.sku.in_([bindparam(f"p{i}") for i in range(CREATE_GRID + 1)]),
        ),
        select(ProductVariant.sku).where(
            ProductVariant.tenant_id == bindparam("tenant_id_v"),
            ProductVariant.sku.in_([bindparam(f"v{i}") for i in range(CREATE_GRID + 1)]),
        ),
    )
)
PRODUCT_INSERT = driver_query(insert(Product))
VARIANT_COLUMNS = (
    "tenant_id", "id", "product_id", "size", "color", "position", "sku", "price_override",
    "stock", "version", "created_at", "updated_at",
)  # fmt: skip
VARIANT_INSERT = driver_query(
    insert(ProductVariant).values(
        [
            {name: bindparam(f"{name}_{row}") for name in VARIANT_COLUMNS}
            for row in range(CREATE_GRID)
        ]
    )
)
AUDIT_INSERT = driver_query(insert(AuditLog))
TOKEN_PEEK = driver_query(PEEK)
TOKEN_ROTATE = driver_query(ROTATE)
USER_BY_EMAIL = driver_query(
    select(User).where(func.lower(User.email) == bindparam("email", type_=String))
)
INSERT_TOKEN = (
    "INSERT INTO auth_refresh_tokens (id, session_id, token_hash, generation, issued_at, "
    "expires_at) VALUES ($1, $2, $3, 0, now(), now() + interval '30 days')"
)
INSERT_SESSION = (
    "INSERT INTO auth_sessions (id, user_id, fingerprint_hash, amr, absolute_expires_at) "
    """VALUES ($1, $2, $3, '["pwd"]'::jsonb, now() + interval '90 days')"""
)
SIGNING_KEYS = "SELECT kid, public_jwk FROM auth_signing_keys WHERE verify_until IS NULL OR verify_until > now()"
# Ours' pools (garment.platform.db.create_engine): 10 kept, 10 more on demand, same settings.
# No reset query on release either (`bench.sql.no_reset`): ours' SQLAlchemy pools send none.
POOL = {
    "min_size": 10,
    "max_size": 20,
    "server_settings": {"application_name": "garment", "statement_timeout": "15000"},
    "reset": no_reset,
}


class Unauthorized(Exception):
    pass


JSON_COLUMNS = frozenset({"planned", "stages"})  # jsonb arrives as text from asyncpg


class Row:
    """An asyncpg record read by attribute, as the ORM rows `compose_board` takes."""

    def __init__(self, record: Any) -> None:
        self._record = {
            name: json.loads(value) if name in JSON_COLUMNS and isinstance(value, str) else value
            for name, value in dict(record).items()
        }

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError as error:
            raise AttributeError(name) from error


def grace_copy_bytes(settings: AuthSettings) -> int:
    """The size of ours' grace copy (a Fernet-encrypted `TokenPair` with an access token of the
    same claims), so the bare rotation stores a blob as big without encrypting anything."""
    now = int(time.time())
    access = jwt.encode(
        {
            "iss": settings.issuer,
            "aud": AUDIENCE_TENANT,
            "sub": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + settings.access_token_minutes * 60,
            "scope": TokenScope.TENANT.value,
            "amr": ["pwd"],
            "tid": str(uuid.uuid4()),
        },
        Ed25519PrivateKey.generate(),
        algorithm=ALGORITHM,
        headers={"kid": "20261201-0123abcd", "typ": TOKEN_TYPE},
    )
    pair = TokenPair(access, 600, new_refresh_token(), 2_592_000, uuid.uuid4())
    return len(Fernet(Fernet.generate_key()).encrypt(pair.to_bytes()))


@dataclass(frozen=True, slots=True)
class Member:
    tenant_id: uuid.UUID
    slug: str
    me: dict[str, Any]  # ours' /tenant/me answer (serialized on every request, as ours)


def create_app() -> Starlette:
    central_url = os.environ["BENCH_CENTRAL_URL"]
    cluster_url = os.environ["BENCH_CLUSTER_URL"]
    secret = Path(os.environ["BENCH_SECRET_KEY_FILE"]).read_text(encoding="utf-8").strip()
    settings = AuthSettings()
    # Ours' hasher when no `auth.token_hash_keys` are configured (garment.runtime).
    hasher = TokenHasher(
        [derive_hash_key(secret)], accept_legacy=settings.accept_legacy_token_hashes
    )
    hashing = PasswordHashing(settings)
    blob_size = grace_copy_bytes(settings)
    pools: dict[str, asyncpg.Pool] = {}
    public_keys: dict[str, Any] = {}
    verified: dict[str, dict[str, Any]] = {}  # token -> claims, until they expire (as ours)
    members: dict[tuple[str, str], Member] = {}  # (tid, sub) -> the member ours showed

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pools["central"] = await asyncpg.create_pool(central_url, **POOL)
        pools["cluster"] = await asyncpg.create_pool(
            cluster_url, connection_class=TenantBindingConnection, **POOL
        )
        for row in await pools["central"].fetch(SIGNING_KEYS):
            jwk = row["public_jwk"]
            jwk = json.loads(jwk) if isinstance(jwk, str) else jwk
            public_keys[row["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        try:
            yield
        finally:
            for pool in pools.values():
                await pool.close()

    def claims_of(token: str) -> dict[str, Any]:
        cached = verified.get(token)
        if cached is not None and cached["exp"] + settings.clock_skew_seconds > time.time():
            return cached
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
                raise Unauthorized
            key = public_keys.get(header.get("kid", ""))
            if key is None:
                raise Unauthorized
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=[AUDIENCE_TENANT],
                issuer=settings.issuer,
                leeway=settings.clock_skew_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized from error
        verified[token] = claims
        return claims

    def tenant_member(request: Request) -> Member:
        """The bare tenant chain: token, member, X-Tenant-ID names the token's tenant."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized
        claims = claims_of(token)
        member = members.get((claims.get("tid", ""), claims["sub"]))
        if claims.get("scope") != TokenScope.TENANT or member is None:
            raise Unauthorized
        header = request.headers.get("x-tenant-id", "").strip().lower()
        if header != member.slug and header != str(member.tenant_id):
            raise Unauthorized
        return member

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def seed_member(request: Request) -> JSONResponse:
        """`{"token", "me"}`: remember what ours' `/tenant/me` answered for this token."""
        body = await request.json()
        claims = claims_of(body["token"])
        me = body["me"]
        members[(claims["tid"], claims["sub"])] = Member(
            uuid.UUID(me["tenant"]["id"]),
            me["tenant"]["slug"],
            me,
        )
        return JSONResponse({"status": "ok"})

    async def tenant_me(request: Request) -> JSONResponse:
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        return JSONResponse(member.me)

    async def tenant_list(request: Request) -> JSONResponse:
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        limit = int(request.query_params.get("limit", "20"))
        async with pools["cluster"].acquire() as connection:
            connection.bind_next_transaction(member.tenant_id)
            async with connection.transaction(readonly=True):  # BEGIN;SELECT set_config(...)
                records = await connection.fetch(TERM_PAGE.sql, member.tenant_id, limit + 1)
        rows = [dict(record) for record in records[:limit]]
        cursor = None
        if len(records) > limit:
            cursor = TERMS.keyset.encode([rows[-1][name] for name in TERMS.key_names])
        return JSONResponse(
            {
                "data": [
                    {
                        **row,
                        "id": str(row["id"]),
                        "parent_id": str(row["parent_id"]) if row["parent_id"] else None,
                    }
                    for row in rows
                ],
                "meta": {"next_cursor": cursor, "limit": limit},
            }
        )

    async def tenant_products(request: Request) -> JSONResponse:
        """Ours' `GET /tenant/products?limit=20`: the chain, then BEGIN (with the tenant
        binding), the keyset SELECT of `product_list`, COMMIT; sizes zipped with surcharges."""
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        limit = int(request.query_params.get("limit", "20"))
        async with pools["cluster"].acquire() as connection:
            connection.bind_next_transaction(member.tenant_id)
            async with connection.transaction():
                records = await connection.fetch(PRODUCT_PAGE.sql, member.tenant_id, limit + 1)
        rows = [dict(record) for record in records[:limit]]
        cursor = None
        if len(records) > limit:
            cursor = PRODUCTS.keyset.encode([rows[-1][name] for name in PRODUCTS.key_names])
        data = []
        for row in rows:
            surcharges = row.pop("size_surcharges")
            row["sizes"] = [
                {"code": code, "surcharge": extra}
                for code, extra in zip(row["sizes"], surcharges, strict=True)
            ]
            for name in ("id", "category_id", "collection_id"):
                row[name] = str(row[name]) if row[name] else None
            for name in ("created_at", "updated_at"):
                row[name] = row[name].isoformat()
            data.append(row)
        return JSONResponse({"data": data, "meta": {"next_cursor": cursor, "limit": limit}})

    async def tenant_product_create(request: Request) -> JSONResponse:
        """Ours' `POST /tenant/products` for a 20-variant grid: the chain, the body, then
        BEGIN (with the tenant binding), ours' six statements (`PRODUCT_*`, `VARIANT_INSERT`,
        `AUDIT_INSERT`), COMMIT; answered with the product and its variants like ours."""
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        body = await request.json()
        tenant_id, product_id, now = member.tenant_id, uuid.uuid4(), datetime.now(UTC)
        sizes = [(size["code"], int(size.get("surcharge", 0))) for size in body["sizes"]]
        grid = [
            (code, color, position)
            for position, (code, color) in enumerate(
                (code, color) for code, _ in sizes for color in body["colors"]
            )
        ]
        if len(grid) != CREATE_GRID:
            return JSONResponse({"code": "VALIDATION_FAILED"}, status_code=422)
        skus = [variant_sku(body["sku"], code, color) for code, color, _ in grid]
        product = {
            "tenant_id": tenant_id, "id": product_id, "sku": body["sku"], "name": body["name"],
            "category_id": None, "collection_id": None, "description": None,
            "base_price": body["base_price"], "status": body["status"], "image_urls": [],
            "sizes": [code for code, _ in sizes], "size_surcharges": [extra for _, extra in sizes],
            "colors": body["colors"], "variant_count": len(grid), "version": 1,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        variants: dict[str, Any] = {}
        for row, ((code, color, position), sku) in enumerate(zip(grid, skus, strict=True)):
            values = {
                "tenant_id": tenant_id, "id": uuid.uuid4(), "product_id": product_id,
                "size": code, "color": color, "position": position, "sku": sku,
                "price_override": None, "stock": 0, "version": 1,
                "created_at": now, "updated_at": now,
            }  # fmt: skip
            variants.update({f"{name}_{row}": value for name, value in values.items()})
        checked = {"tenant_id": tenant_id, "tenant_id_v": tenant_id}
        checked |= {f"p{i}": sku for i, sku in enumerate([body["sku"], *skus])}
        checked |= {f"v{i}": sku for i, sku in enumerate([body["sku"], *skus])}
        audit = {
            "tenant_id": tenant_id, "id": uuid.uuid4(), "occurred_at": now,
            "actor_id": uuid.UUID(member.me["user"]["id"]), "action": "create",
            "entity_type": "product", "entity_id": str(product_id),
            "changes": json.dumps({"after": {k: str(v) for k, v in product.items()}}),
            "request_id": secrets.token_hex(16),
        }  # fmt: skip
        async with pools["cluster"].acquire() as connection:
            connection.bind_next_transaction(tenant_id)
            async with connection.transaction():
                await connection.execute(PRODUCT_LOCK, str(tenant_id))
                await connection.fetchval(PRODUCT_COUNT.sql, tenant_id, "archived")
                taken = await connection.fetch(
                    PRODUCT_SKUS_TAKEN.sql, *(checked[name] for name in PRODUCT_SKUS_TAKEN.names)
                )
                if taken:
                    return JSONResponse({"code": "PRODUCT_SKU_TAKEN"}, status_code=409)
                await connection.execute(
                    PRODUCT_INSERT.sql, *(product[name] for name in PRODUCT_INSERT.names)
                )
                await connection.execute(
                    VARIANT_INSERT.sql, *(variants[name] for name in VARIANT_INSERT.names)
                )
                await connection.execute(
                    AUDIT_INSERT.sql, *(audit[name] for name in AUDIT_INSERT.names)
                )
        answer = {
            **{k: v for k, v in product.items() if k not in ("tenant_id", "size_surcharges")},
            "id": str(product_id),
            "sizes": [{"code": code, "surcharge": extra} for code, extra in sizes],
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
            "variants": [
                {"id": str(variants[f"id_{row}"]), "size": code, "color": color, "sku": sku}
                for row, ((code, color, _), sku) in enumerate(zip(grid, skus, strict=True))
            ],
        }
        return JSONResponse(answer, status_code=201)

    async def tenant_board(request: Request) -> JSONResponse:
        """Ours' `GET /tenant/production/board`: the chain, then the same three SELECTs (active
        jobs, their counters, the routings) in one bound transaction, composed by the same
        function."""
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        async with pools["cluster"].acquire() as connection:
            connection.bind_next_transaction(member.tenant_id)
            async with connection.transaction():
                jobs = await connection.fetch(BOARD_JOBS.sql, member.tenant_id, "active")
                ids = [job["id"] for job in jobs]
                counters = await connection.fetch(BOARD_COUNTERS.sql, member.tenant_id, ids)
                routings = await connection.fetch(BOARD_ROUTINGS.sql, member.tenant_id)
        board = compose_board(
            [Row(job) for job in jobs], [Row(c) for c in counters], [Row(r) for r in routings]
        )
        return JSONResponse(board.model_dump(mode="json"))

    async def tenant_piece_event(request: Request) -> JSONResponse:
        """Ours' `POST /tenant/production/events` (`in` at the first stage), statement by
        statement (see PIECE_*), with the response stored under the Idempotency-Key."""
        try:
            member = tenant_member(request)
        except Unauthorized:
            return JSONResponse({"code": "AUTH_TOKEN_INVALID"}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        body = await request.json()
        job_id, size, stage = uuid.UUID(body["job_id"]), body["size"], body["stage"]
        quantity = int(body["quantity"])
        async with pools["cluster"].acquire() as connection:
            connection.bind_next_transaction(member.tenant_id)
            async with connection.transaction():
                claimed = await connection.fetchval(
                    PIECE_CLAIM, member.tenant_id, key, secrets.token_hex(32), request.url.path
                )
                if claimed is None:
                    return JSONResponse({"code": "IDEMPOTENCY_KEY_REUSED"}, status_code=422)
                job = await connection.fetchrow(PIECE_JOB, member.tenant_id, job_id)
                if job is None:
                    return JSONResponse({"code": "RESOURCE_NOT_FOUND"}, status_code=404)
                row = (await connection.fetch(PIECE_LOCK, member.tenant_id, job_id, size, [stage]))[
                    0
                ]
                await connection.execute(
                    PIECE_UPDATE,
                    member.tenant_id,
                    job_id,
                    size,
                    stage,
                    row["entered"] + quantity,
                    row["received"] + quantity,
                )
                event_id = uuid.uuid4()
                created = await connection.fetchrow(
                    PIECE_EVENT,
                    member.tenant_id,
                    event_id,
                    job_id,
                    job["order_id"],
                    size,
                    stage,
                    body["kind"],
                    quantity,
                    body.get("worker"),
                    uuid.UUID(member.me["user"]["id"]) if "user" in member.me else None,
                )
                counters = await connection.fetch(PIECE_COUNTERS, member.tenant_id, job_id)
                answer = {
                    "id": str(event_id),
                    "seq": created["seq"],
                    "job_id": str(job_id),
                    "order_id": str(job["order_id"]),
                    "size": size,
                    "stage": stage,
                    "kind": body["kind"],
                    "quantity": quantity,
                    "occurred_at": created["occurred_at"].isoformat(),
                    "counters": [
                        {
                            name: c[name]
                            for name in ("size", "stage", "received", "output", "rejected")
                        }
                        for c in counters
                        if c["size"] == size
                    ],
                }
                encoded = json.dumps(answer).encode()
                await connection.execute(PIECE_STORE, member.tenant_id, key, "{}", encoded)
        async with pools["central"].acquire() as connection, connection.transaction():
            await connection.execute(
                PIECE_OUTBOX,
                uuid.uuid4(),
                "production.PiecesRecorded",
                json.dumps(answer),
                None,
            )
            await connection.execute(
                "SELECT pg_notify($1, $2)",
                "garment_invalidate",
                f"production:{member.tenant_id}|{json.dumps(answer)}",
            )
        return JSONResponse(answer, status_code=201)

    async def refresh(request: Request) -> JSONResponse:
        token = (await request.json())["refresh_token"]
        fingerprint = request.headers.get("x-device-fingerprint")
        now = datetime.now(UTC)
        async with pools["central"].acquire() as connection:
            row = await connection.fetchrow(TOKEN_PEEK.sql, list(hasher.candidates(token)))
            if row is None or row["revoked_at"] is not None:
                return JSONResponse({"code": "AUTH_REFRESH_INVALID"}, status_code=401)
            idle_limit = row["last_used_at"] + timedelta(days=settings.session_idle_days)
            if row["absolute_expires_at"] <= now or idle_limit <= now:
                return JSONResponse({"code": "AUTH_REFRESH_INVALID"}, status_code=401)
            if fingerprint_hash(fingerprint) != row["fingerprint_hash"]:
                return JSONResponse({"code": "AUTH_FINGERPRINT_MISMATCH"}, status_code=401)
            if row["used_at"] is not None or row["expires_at"] <= now:
                return JSONResponse({"code": "AUTH_REFRESH_INVALID"}, status_code=401)
            successor = new_refresh_token()
            generation = row["generation"] + 1
            grace = settings.refresh_reuse_grace_seconds
            values: dict[str, Any] = {
                "successor_id": uuid.uuid4(),
                "session_id": row["session_id"],
                "token_hash": hasher.hash(successor),
                "generation": generation,
                "now": now,
                "expires_at": min(
                    now + timedelta(days=settings.refresh_token_days), row["absolute_expires_at"]
                ),
                "token_id": row["token_id"],
                "grace_until": now + timedelta(seconds=grace) if grace else None,
                "ciphertext": os.urandom(blob_size) if grace else None,
                "activity_type": ActivityType.REFRESH.value,
                "user_id": row["user_id"],
                "request_id": secrets.token_hex(8),
                "ip": request.client.host if request.client else None,
                "user_agent": request.headers.get("user-agent"),
                "details": json.dumps({"generation": generation}),
            }
            rotated = await connection.fetchval(
                TOKEN_ROTATE.sql, *(values[name] for name in TOKEN_ROTATE.names)
            )
            if not rotated:  # ours decides again under locks; the bench never races a token
                return JSONResponse({"code": "AUTH_REFRESH_INVALID"}, status_code=401)
        return JSONResponse({"refresh_token": successor, "session_id": str(row["session_id"])})

    async def login(request: Request) -> JSONResponse:
        body = await request.json()
        # Like ours, the verify runs inside the central transaction (ours' login is one).
        async with pools["central"].acquire() as connection, connection.transaction():
            user = await connection.fetchrow(USER_BY_EMAIL.sql, body["email"].strip().lower())
            valid = await hashing.verify_off_loop(
                user["password_hash"] if user else None, body["password"]
            )
        if not valid or user is None:
            return JSONResponse({"code": "AUTH_INVALID_CREDENTIALS"}, status_code=401)
        return JSONResponse({"user": {"id": str(user["id"]), "email": user["email"]}})

    async def seed_chains(request: Request) -> JSONResponse:
        body = await request.json()
        tokens = []
        async with pools["central"].acquire() as connection, connection.transaction():
            user_id = await connection.fetchval(
                "SELECT id FROM users WHERE lower(email) = lower($1)", body["email"]
            )
            for _ in range(int(body["count"])):
                session_id = uuid.uuid4()
                token = new_refresh_token()
                await connection.execute(
                    INSERT_SESSION, session_id, user_id, fingerprint_hash(body["fingerprint"])
                )
                await connection.execute(INSERT_TOKEN, uuid.uuid4(), session_id, hasher.hash(token))
                tokens.append(token)
        return JSONResponse({"tokens": tokens})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/tenant-me", tenant_me),
            Route("/tenant-list", tenant_list),
            Route("/tenant-products", tenant_products),
            Route("/tenant-board", tenant_board),
            Route("/tenant-products", tenant_product_create, methods=["POST"]),
            Route("/tenant-piece-event", tenant_piece_event, methods=["POST"]),
            Route("/refresh", refresh, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/seed-member", seed_member, methods=["POST"]),
            Route("/seed-chains", seed_chains, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
