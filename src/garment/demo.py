"""The newcomer path: a verified demo platform admin and a demo tenant on the embedded database.

Created once; the admin's random password is kept in `data_dir/demo-admin-password` (mode 0600,
never in git) so every `make run` can print it. Never runs against a configured database (the
composition root only calls it where `settings.should_seed_demo_data` holds).
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from garment.central.auth.service import AuthService
from garment.central.tenancy.provisioning import ProvisioningPipeline
from garment.central.tenancy.service import TenancyService
from garment.central.tenancy.states import NOT_PROVISIONED, BillingInterval, TenantStatus
from garment.config import Settings
from garment.platform.db import Database
from garment.platform.pagination import PageParams
from garment.tenant.customers.service import CustomerService
from garment.tenant.invoicing.schemas import InvoiceCreate, InvoicePaymentIn
from garment.tenant.invoicing.service import InvoiceService
from garment.tenant.invoicing.states import InvoiceKind
from garment.tenant.materials.schemas import CreateLotRequest, CreateMaterialRequest
from garment.tenant.materials.service import MaterialService
from garment.tenant.materials.states import Unit
from garment.tenant.orders.schemas import ArtworkUpdate, LineIn, OrderCreate, PaymentIn
from garment.tenant.orders.service import OrderService
from garment.tenant.orders.states import ArtworkStatus, OrderStatus, PaymentMethod
from garment.tenant.production.schemas import RecordEvent
from garment.tenant.production.states import RecordKind
from garment.tenant.products.schemas import (
    ConsumptionIn,
    CreatePriceTierRequest,
    CreateProductRequest,
    MaterialLineIn,
    ReplaceBomRequest,
    ServiceLineIn,
    SizeIn,
)
from garment.tenant.products.service import ProductService
from garment.tenant.products.states import CustomerType, ProductSort, ProductStatus, ServiceKind
from garment.tenant.taxonomies.service import TaxonomyService

PASSWORD_FILE = "demo-admin-password"
DEMO_TENANT_SLUG = "demo"
DEMO_TENANT_NAME = "Konveksi Demo"
DEMO_PLAN = "growth"


@dataclass(frozen=True, slots=True)
class SeededDemo:
    email: str
    password: str | None  # None when the password file was removed
    tenant_id: uuid.UUID
    status: TenantStatus


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)


class DemoSeed:
    def __init__(
        self,
        *,
        settings: Settings,
        central: Database,
        auth: AuthService,
        tenancy: TenancyService,
        provisioning: ProvisioningPipeline,
    ) -> None:
        self.settings = settings
        self.central = central
        self.auth = auth
        self.tenancy = tenancy
        self.provisioning = provisioning

    @property
    def password_file(self) -> Path:
        return self.settings.data_dir / PASSWORD_FILE

    async def ensure(self) -> SeededDemo:
        email, password = await self.ensure_admin()
        tenant_id, status = await self.ensure_tenant(email)
        return SeededDemo(email, password, tenant_id, status)

    async def ensure_admin(self) -> tuple[str, str | None]:
        """The demo admin's email and password (None if the password file was removed)."""
        email = self.settings.auth.demo_admin_email
        async with self.central.transaction() as session:
            if await self.auth.accounts.find_by_email(session, email) is None:
                password = "demo-" + secrets.token_urlsafe(12)
                await self.auth.accounts.create_verified(
                    session,
                    email=email,
                    name="Demo Admin",
                    password=password,
                    verified_at=datetime.now(UTC),
                    platform_admin=True,
                )
                _write_secret(self.password_file, password)
                return email, password
        path = self.password_file
        return email, path.read_text(encoding="utf-8").strip() if path.exists() else None

    async def ensure_tenant(self, admin_email: str) -> tuple[uuid.UUID, TenantStatus]:
        """A demo tenant owned by the demo admin, provisioned in-process (no worker needed)."""
        async with self.central.transaction() as session:
            tenant = await self.tenancy.find(session, DEMO_TENANT_SLUG)
            if tenant is None:
                admin = await self.auth.accounts.find_by_email(session, admin_email)
                assert admin is not None  # created just before
                created = await self.tenancy.create_tenant(
                    session,
                    owner=admin,
                    name=DEMO_TENANT_NAME,
                    slug=DEMO_TENANT_SLUG,
                    plan_code=DEMO_PLAN,
                    billing_interval=BillingInterval.MONTHLY,
                )
                tenant_id, status = created.id, TenantStatus(created.status)
            else:
                tenant_id, status = tenant.id, tenant.status
        if status in NOT_PROVISIONED:
            status = await self.provisioning.run(tenant_id)
        return tenant_id, status


# --- the demo tenant's catalogue ---------------------------------------------------------------

DEMO_SIZES = ("S", "M", "L", "XL", "XXL")


# Besides the order's reseller: a school ordering uniforms on credit, and a walk-in buyer.
DEMO_CUSTOMERS: tuple[dict[str, object], ...] = (
    {
        "name": "SMA Negeri 3 Bandung",
        "type": "corporate",
        "address": "Jl. Belitung No. 8, Bandung",
        "credit_days": 30,
        "credit_limit": 25_000_000,
    },
    {"name": "Ibu Rina (eceran)", "type": "retail", "phone": "+62 813-2222-1111"},
)


class DemoCatalogue:
    """A small realistic catalogue in the demo tenant, so the README walk-through can list
    products at once: two designs over S-XXL (XXL with a surcharge) in a few colours, reseller
    tiers, a bill of materials, and two materials with rolls. Added once (skipped when the
    tenant has any product)."""

    def __init__(
        self,
        *,
        tenancy: TenancyService,
        cluster_manager: Any,
        taxonomies: TaxonomyService,
        products: ProductService,
        materials: MaterialService,
    ) -> None:
        self.tenancy = tenancy
        self.cluster_manager = cluster_manager
        self.taxonomies = taxonomies
        self.products = products
        self.materials = materials

    async def ensure(self, tenant_id: uuid.UUID) -> int:
        """How many products were added (0 when the catalogue was there already)."""
        tenant = await self.tenancy.tenant_ref(tenant_id)
        if tenant is None or tenant.cluster_key is None or tenant.status is not TenantStatus.ACTIVE:
            return 0
        async with self.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db:
            existing, _ = await self.products.list_products(
                db, tenant_id, sort=ProductSort.NEWEST, page=PageParams(limit=1)
            )
            if existing:
                return 0
            terms, _ = await self.taxonomies.list_terms(
                db, tenant_id, term_type="category", page=PageParams(limit=100)
            )
            category = {term["code"]: term["id"] for term in terms}
            fabric = await self.materials.create(
                db,
                tenant_id,
                CreateMaterialRequest(
                    code="CC30S-HITAM",
                    name="Cotton Combed 30s Hitam",
                    unit=Unit.KG,
                    reorder_level="25",
                    unit_cost=118_000,  # per kg: order costing prices the demo order with it
                ),
            )
            drill = await self.materials.create(
                db,
                tenant_id,
                CreateMaterialRequest(
                    code="DRILL-NAVY",
                    name="Drill American Navy",
                    unit=Unit.M,
                    reorder_level="50",
                    unit_cost=32_500,
                ),
            )
            for material, rolls in (
                (
                    fabric,
                    (
                        ("CC-R001", "Hitam", "DL-2611", "24.8"),
                        ("CC-R002", "Hitam", "DL-2611", "25.1"),
                    ),
                ),
                (
                    drill,
                    (("DR-R001", "Navy", "DL-0917", "60"), ("DR-R002", "Navy", "DL-0920", "58.5")),
                ),
            ):
                for lot_number, color, dye_lot, quantity in rolls:
                    await self.materials.create_lot(
                        db,
                        tenant_id,
                        material.id,
                        CreateLotRequest(
                            lot_number=lot_number, color=color, dye_lot=dye_lot, quantity=quantity
                        ),
                        actor_id=None,
                    )
            sizes = [
                SizeIn(code=code, surcharge=10_000 if code == "XXL" else 0) for code in DEMO_SIZES
            ]
            kaos = await self.products.create(
                db,
                tenant_id,
                tenant.plan_code,
                CreateProductRequest(
                    sku="KAOS-CC30S",
                    name="Kaos Polos Cotton Combed 30s",
                    category_id=category.get("kaos"),
                    description="Kaos polos lengan pendek, leher rib, jahitan rantai.",
                    base_price=55_000,
                    status=ProductStatus.ACTIVE,
                    sizes=sizes,
                    colors=["hitam", "putih", "navy", "abu"],
                ),
            )
            kemeja = await self.products.create(
                db,
                tenant_id,
                tenant.plan_code,
                CreateProductRequest(
                    sku="KEMEJA-PDH",
                    name="Kemeja PDH Drill",
                    category_id=category.get("kemeja"),
                    description="Kemeja PDH lengan panjang, bahan drill, dua saku.",
                    base_price=145_000,
                    status=ProductStatus.ACTIVE,
                    sizes=sizes,
                    colors=["navy", "hitam", "hijau-army"],
                ),
            )
            for product, tiers in (
                (kaos, ((12, 49_000), (60, 45_000))),
                (kemeja, ((12, 135_000),)),
            ):
                for minimum, price in tiers:
                    await self.products.create_tier(
                        db,
                        tenant_id,
                        CreatePriceTierRequest(
                            product_id=product.id,
                            customer_type=CustomerType.RESELLER,
                            min_quantity=minimum,
                            unit_price=price,
                        ),
                    )
            consumption = ("0.17", "0.185", "0.2", "0.215", "0.235")
            await self.products.replace_bom(
                db,
                tenant_id,
                kaos.id,
                ReplaceBomRequest(
                    lines=[
                        MaterialLineIn(
                            kind="material",
                            material_id=fabric.id,
                            consumption=[
                                ConsumptionIn(size=size, quantity=quantity)
                                for size, quantity in zip(DEMO_SIZES, consumption, strict=True)
                            ],
                        ),
                        ServiceLineIn(
                            kind="service",
                            service=ServiceKind.SABLON,
                            description="Sablon plastisol 1 warna, dada depan",
                            cost_per_piece=6_000,
                        ),
                    ]
                ),
            )
            await self.products.replace_bom(
                db,
                tenant_id,
                kemeja.id,
                ReplaceBomRequest(
                    lines=[
                        MaterialLineIn(
                            kind="material",
                            material_id=drill.id,
                            consumption=[
                                ConsumptionIn(size=size, quantity=quantity)
                                for size, quantity in zip(
                                    DEMO_SIZES, ("1.5", "1.6", "1.7", "1.8", "1.95"), strict=True
                                )
                            ],
                        ),
                        ServiceLineIn(
                            kind="service",
                            service=ServiceKind.BORDIR,
                            description="Bordir logo instansi, dada kiri",
                            cost_per_piece=12_500,
                        ),
                    ]
                ),
            )
        return 2


# --- the demo tenant's first sales order --------------------------------------------------------

DEMO_ORDER_GRID = {"S": 10, "M": 20, "L": 15, "XL": 5, "XXL": 2}


class DemoSales:
    """One confirmed order in the demo tenant with its artwork approved and the down payment
    paid, so production can start it at once (a reseller customer, 52 kaos in black). Added
    once (skipped when the tenant has any order); needs the demo catalogue."""

    def __init__(
        self,
        *,
        tenancy: TenancyService,
        central: Database,
        cluster_manager: Any,
        products: ProductService,
        customers: CustomerService,
        orders: OrderService,
    ) -> None:
        self.tenancy = tenancy
        self.central = central
        self.cluster_manager = cluster_manager
        self.products = products
        self.customers = customers
        self.orders = orders

    async def ensure(self, tenant_id: uuid.UUID) -> uuid.UUID | None:
        """The new order's id (None when there were orders already, or no catalogue)."""
        tenant = await self.tenancy.tenant_ref(tenant_id)
        if tenant is None or tenant.cluster_key is None or tenant.status is not TenantStatus.ACTIVE:
            return None
        async with (
            self.central.transaction() as central,
            self.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db,
        ):
            existing, _ = await self.orders.list_orders(
                db,
                tenant_id,
                status=None,
                customer_id=None,
                date_from=None,
                date_to=None,
                search=None,
                page=PageParams(limit=1),
            )
            if existing:
                return None
            designs, _ = await self.products.list_products(
                db, tenant_id, sort=ProductSort.NAME, page=PageParams(limit=10)
            )
            kaos = next((p for p in designs if p["sku"] == "KAOS-CC30S"), None)
            if kaos is None:
                return None
            customer = await self.customers.create(
                db,
                central,
                tenant_id,
                None,
                {
                    "name": "CV Seragam Nusantara",
                    "type": "reseller",
                    "phone": "+62 812-3456-7890",
                    "address": "Jl. Cigondewah Kaler No. 12, Bandung",
                },
            )
            for other in DEMO_CUSTOMERS:  # the walk-through lists three customers
                await self.customers.create(db, central, tenant_id, None, dict(other))
            order = await self.orders.create(
                db,
                central,
                tenant_id,
                tenant.plan_code,
                None,
                OrderCreate(
                    customer_id=customer.id,
                    notes="Kaos panitia, sablon dada depan.",
                    lines=[LineIn(product_id=kaos["id"], color="hitam", sizes=DEMO_ORDER_GRID)],
                ),
            )
            for line in order.lines:
                await self.orders.set_artwork(
                    db,
                    tenant_id,
                    None,
                    order.id,
                    line.id,
                    ArtworkUpdate(status=ArtworkStatus.APPROVED, file_ref="demo/desain-kaos.png"),
                    expected_version=None,
                )
            await self.orders.transition(
                db,
                central,
                tenant_id,
                None,
                order.id,
                OrderStatus.CONFIRMED,
                "demo",
                permissions=frozenset({"orders.approve"}),
            )
            await self.orders.record_payment(
                db,
                central,
                tenant_id,
                None,
                order.id,
                PaymentIn(
                    method=PaymentMethod.TRANSFER,
                    amount=order.down_payment_due,
                    paid_on=datetime.now(UTC).date(),
                    proof_reference="Transfer BCA (demo)",
                ),
            )
            return order.id


# --- the demo order's down payment invoice ---------------------------------------------------


class DemoInvoicing:
    """The demo order's DP invoice, issued, with the DP payment the order recorded applied to
    it (the demo tenant is not PKP: no PPN). Only for the order `DemoSales` just created."""

    def __init__(
        self,
        *,
        tenancy: TenancyService,
        central: Database,
        cluster_manager: Any,
        orders: OrderService,
        invoices: InvoiceService,
    ) -> None:
        self.tenancy = tenancy
        self.central = central
        self.cluster_manager = cluster_manager
        self.orders = orders
        self.invoices = invoices

    async def ensure(self, tenant_id: uuid.UUID, order_id: uuid.UUID | None) -> str | None:
        """The issued invoice's number (None when there was no new order)."""
        tenant = await self.tenancy.tenant_ref(tenant_id)
        if order_id is None or tenant is None or tenant.cluster_key is None:
            return None
        async with (
            self.central.transaction() as central,
            self.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db,
        ):
            draft = await self.invoices.create(
                db, tenant_id, None, InvoiceCreate(order_id=order_id, kind=InvoiceKind.DOWN_PAYMENT)
            )
            invoice = await self.invoices.issue(
                db, central, tenant_id, None, draft.id, expected_version=None
            )
            payments = await self.orders.payments(db, tenant_id, order_id)
            if payments.data:
                payment = payments.data[0]
                await self.invoices.apply_payment(
                    db,
                    central,
                    tenant_id,
                    None,
                    invoice.id,
                    InvoicePaymentIn(
                        amount=min(payment.amount, invoice.total),
                        order_payment_id=payment.id,
                    ),
                )
            return invoice.number


# --- the demo order in production -----------------------------------------------------------

# (size, stage, kind, pieces, worker, reason): cut S and M, sew part of M, one reject at QC.
DEMO_LEDGER: tuple[tuple[str, str, RecordKind, int, str | None, str | None], ...] = (
    ("S", "potong", RecordKind.IN, 10, "Pak Joko", None),
    ("S", "potong", RecordKind.OUT, 10, "Pak Joko", None),
    ("M", "potong", RecordKind.IN, 20, "Pak Joko", None),
    ("M", "potong", RecordKind.OUT, 20, "Pak Joko", None),
    ("M", "jahit", RecordKind.OUT, 12, "Bu Siti", None),
    ("M", "finishing", RecordKind.OUT, 8, "Rina", None),
    ("M", "qc", RecordKind.REJECT, 1, "Bu Siti", "jahitan loncat"),
    ("L", "potong", RecordKind.IN, 15, "Pak Joko", None),
)


class DemoProduction:
    """The demo's confirmed order put in production with a few piece events, so the board has
    work in progress, a reject at QC and load against capacity. Only for an order DemoSales
    has just created."""

    def __init__(
        self, *, tenancy: TenancyService, central: Database, cluster_manager: Any, production: Any
    ) -> None:
        self.tenancy = tenancy
        self.central = central
        self.cluster_manager = cluster_manager
        self.production = production

    async def ensure(self, tenant_id: uuid.UUID, order_id: uuid.UUID | None) -> int:
        """How many piece events were recorded (0 when there was no new order)."""
        tenant = await self.tenancy.tenant_ref(tenant_id)
        if order_id is None or tenant is None or tenant.cluster_key is None:
            return 0
        async with (
            self.central.transaction() as central,
            self.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db,
        ):
            await self.production.seed_defaults(db, tenant_id)
            jobs = await self.production.start(db, central, tenant_id, order_id, None)
            job = jobs[0]
            for size, stage, kind, pieces, worker, reason in DEMO_LEDGER:
                await self.production.record(
                    db,
                    central,
                    tenant_id,
                    None,
                    RecordEvent(
                        job_id=job.id,
                        size=size,
                        stage=stage,
                        kind=kind,
                        quantity=pieces,
                        worker=worker,
                        reason_code=reason,
                    ),
                )
        return len(DEMO_LEDGER)
