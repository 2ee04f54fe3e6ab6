"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure and clock-free.

The caller passes the attempt's timestamp, so every retry is signed afresh while the
`webhook-id` (the event id) stays the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


def generate_secret() -> str:
    """A fresh endpoint secret: `whsec_` + base64 of 32 random bytes (contract: at least 24)."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key behind a secret; unpadded base64 is accepted, as the reference library does.

    Raises ValueError for a secret that is not base64 or decodes to nothing.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not valid base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The `webhook-signature` value: one `v1,<sig>` per live secret, space-separated.

    Two secrets are live during a rotation, so a subscriber holding either one verifies.
    """
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in secrets:
        digest = hmac.new(secret_key(secret), signed_content, hashlib.sha256).digest()
        signatures.append(f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}")
    return " ".join(signatures)


def webhook_headers(
    msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """Every header a delivery attempt carries besides those httpx adds itself."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
        "content-type": "application/json",
    }
