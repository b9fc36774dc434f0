"""tests/vectors (vendored from ../shared/vectors) reproduced through sign_payee_evidence_binding, byte for byte."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import paybond_kit as pk

VECTORS = Path(os.environ.get("PAYBOND_VECTORS_DIR", Path(__file__).resolve().parents[2] / "tests" / "vectors"))


def load(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 10
    return cases


@pytest.mark.parametrize(("file", "version"), [("evidence_sign_v2.json", 2), ("evidence_sign_v1_legacy.json", 1)])
def test_evidence_vectors(file: str, version: int) -> None:
    for case in load(file):
        i, want = case["input"], case["expected"]
        args = dict(
            tenant_id=i["tenant_id"], intent_id=i["intent_id"], payee_did=i["payee_did"], payload=i["payload"],
            artifacts_blake3_hex=i["artifacts_blake3_hex"], submitted_at_rfc3339=i["submitted_at"],
            payee_signing_seed=bytes.fromhex(i["payee_seed_hex"]), version=version,
        )
        body = pk.sign_payee_evidence_binding(**args)  # type: ignore[arg-type]
        assert body == want["body"], case["name"]
        # Byte-level: same compact JSON, key order included, as the vector's body.
        assert json.dumps(body, separators=(",", ":"), ensure_ascii=False) == json.dumps(want["body"], separators=(",", ":"), ensure_ascii=False), case["name"]
        signed = pk.sign_payee_evidence(**args)  # type: ignore[arg-type]
        assert signed.sign_bytes.hex() == want["sign_bytes_hex"], case["name"]


def test_hex_seed_and_uuid_object_accepted() -> None:
    import uuid

    case = load("evidence_sign_v2.json")[0]
    i = case["input"]
    body = pk.sign_payee_evidence_binding(
        tenant_id=i["tenant_id"], intent_id=uuid.UUID(i["intent_id"]), payee_did=i["payee_did"], payload=i["payload"],
        artifacts_blake3_hex=i["artifacts_blake3_hex"], submitted_at_rfc3339=i["submitted_at"], payee_signing_seed=i["payee_seed_hex"],
    )
    assert body == case["expected"]["body"]



def test_intent_create_vectors() -> None:
    path = VECTORS / "intent_create_v6.json"
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 3
    for case in cases:
        i, want = dict(case["input"]), case["expected"]["body"]
        i["payee_pubkey"] = want["payee_pubkey"]  # derived from payee_seed_hex; checked by the signature
        body = pk.sign_intent_creation(i, principal_signing_seed=bytes.fromhex(i["principal_seed_hex"]))
        assert body == want, case["name"]
