"""Drill (incident playbook 3, docs/22): "invoice or subscription state not updating". On a real
`garment serve` over HTTP a forged delivery is refused and a genuine one is stored but not yet
processed (no worker runs in this server: the state does not move). Each documented step, run as
the operator types it, must name the cause: the refused delivery in the log with its receipt, the
forensic record with the verification reason and redacted headers, the unprocessed receipt, and
the replay that applies it exactly once; dunning's explanation and the month's report agree."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from garment.config import Settings
from garment.runtime import Runtime
from tests.billing.conftest import WEBHOOKS, invoices_of, onboard, open_invoice, sandbox_delivery
from tests.drills.support import Drill, running_server

pytestmark = pytest.mark.slow


def receipts(drill: Drill, line: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = drill.json(line)
    return rows


async def test_a_webhook_that_changes_nothing_is_traced_by_the_playbook_commands(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    billed = await onboard(runtime, plan="enterprise")  # paid plan: first invoice open
    invoice = await open_invoice(runtime, billed.tenant_id)
    async with running_server(settings, tmp_path) as drill:
        # --- the incident: a forged delivery, then a genuine one nobody processes -------------
        body, headers = sandbox_delivery(runtime, invoice)
        # Well formed, signed with another secret: what a forger (or a wrong secret) sends.
        wrong = base64.b64encode(hashlib.sha256(b"not our secret").digest()).decode()
        forged_headers = {**headers, "webhook-signature": f"v1,{wrong}"}
        forged = await drill.http.post(f"{WEBHOOKS}/sandbox", content=body, headers=forged_headers)
        assert forged.status_code == 401, forged.text
        assert forged.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"
        genuine = await drill.http.post(f"{WEBHOOKS}/sandbox", content=body, headers=headers)
        assert genuine.status_code == 200, genuine.text
        [still_open] = [
            i for i in await invoices_of(runtime, billed.tenant_id) if i.id == invoice.id
        ]
        assert still_open.status == "open"  # the symptom

        # --- step 1: the ingress, from the log ------------------------------------------------
        lines = [
            json.loads(line)
            for line in drill.ok(
                "garment logs --since 2h --event billing.webhook_rejected --json"
            ).splitlines()
            if line.strip()
        ]
        rejected = [line for line in lines if line.get("provider") == "sandbox"]
        assert rejected, lines
        receipt_id = rejected[-1]["receipt_id"]
        assert rejected[-1]["reason"] == "signature_mismatch"

        # --- step 2: the forensic records -----------------------------------------------------
        listed = receipts(
            drill, "garment billing webhooks list --since 24h --provider sandbox --json"
        )
        by_id = {row["id"]: row for row in listed}
        assert by_id[receipt_id]["status"] == "rejected"
        mine = [row for row in listed if row["reference"] == invoice.reference]
        pending = [row for row in mine if row["status"] != "rejected"]
        assert len(pending) == 1, mine
        assert pending[0]["status"] in {"verified", "processing"}  # stored, never processed
        forged_record = drill.json(f"garment billing webhooks show {receipt_id} --json")
        assert forged_record["verified"] is False
        assert forged_record["verification_reason"] == "signature_mismatch"
        assert forged_record["remote_addr"]  # the evidence an investigation needs
        shown = drill.ok(f"garment billing webhooks show {receipt_id}")
        assert "signature_mismatch" in shown
        stats = drill.json("garment jobs stats")
        assert stats["queued"] >= 1  # the processing job waits for a worker

        # --- step 3: signature and mapping ----------------------------------------------------
        genuine_record = drill.json(f"garment billing webhooks show {pending[0]['id']} --json")
        assert genuine_record["verified"] is True
        assert genuine_record["event_kind"] == "payment.succeeded"

        # --- step 4: replay (idempotent), dunning's view, the report --------------------------
        replayed = drill.json(f"garment billing webhooks replay {pending[0]['id']} --json")
        assert replayed["status"] == "processed", replayed
        again = drill.json(f"garment billing webhooks replay {pending[0]['id']} --json")
        assert again["status"] in {"processed", "ignored"}, again
        [paid] = [i for i in await invoices_of(runtime, billed.tenant_id) if i.id == invoice.id]
        assert paid.status == "paid" and paid.paid_at is not None
        explained = drill.command(f"garment billing dunning --explain {paid.number}")
        assert explained.returncode == 0, explained.stderr
        assert "paid" in explained.stdout.lower()
        month = datetime.now(UTC).strftime("%Y-%m")
        report = drill.json(f"garment billing report --month {month} --format json")
        assert report["month"] == month
