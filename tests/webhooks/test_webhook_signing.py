"""Signatures must verify with the Standard Webhooks reference library."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.webhooks.signing import generate_secret, secret_key, sign, webhook_headers

BODY = json.dumps({"id": "evt_1", "type": "webhook.test", "data": {}}).encode()


def test_generated_secret_is_whsec_and_32_random_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert generate_secret() != secret


def test_each_of_two_live_secrets_verifies_a_two_signature_header() -> None:
    old, new = generate_secret(), generate_secret()
    headers = webhook_headers("evt_1", int(time.time()), BODY, [old, new])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_wrong_secret_fails_verification() -> None:
    headers = webhook_headers("evt_1", int(time.time()), BODY, [generate_secret()])
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_a_tampered_body_fails_verification() -> None:
    secret = generate_secret()
    headers = webhook_headers("evt_1", int(time.time()), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"webhook.test", b"webhook.tesT"), headers)


def test_a_changed_message_id_fails_verification() -> None:
    secret = generate_secret()
    headers = webhook_headers("evt_1", int(time.time()), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_2"})


def test_signature_matches_the_reference_signer_byte_for_byte() -> None:
    secret = generate_secret()
    timestamp = 1_700_000_000
    reference = Webhook(secret).sign(
        "evt_1", datetime.fromtimestamp(timestamp, tz=UTC), BODY.decode()
    )
    assert sign("evt_1", timestamp, BODY, [secret]) == reference


def test_headers_carry_id_timestamp_and_json_content_type() -> None:
    headers = webhook_headers("evt_9", 1_700_000_123, BODY, [generate_secret()])
    assert headers["webhook-id"] == "evt_9"
    assert headers["webhook-timestamp"] == "1700000123"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_unpadded_secret_is_accepted_like_the_reference_library() -> None:
    padded = generate_secret()
    assert secret_key(padded.rstrip("=")) == secret_key(padded)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        sign("evt_1", 1, BODY, [])


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not*base64!"])
def test_unusable_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        secret_key(secret)
