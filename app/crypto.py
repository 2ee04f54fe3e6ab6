"""Secrets at rest: webhook signing secrets are stored sealed with Fernet.

`FOLLOWUP_SECRET_KEY` holds one or more Fernet keys, comma-separated: the first seals,
all of them open (MultiFernet), so keys rotate by prepending a new one and, once
`followup migrate`-style resealing has run, dropping the old. With PostgreSQL the key
is required; with SQLite a development key is generated beside the database file (with
a warning), so `make run` works out of the box.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

SEALED_PREFIX = "gAAAAA"
"""How every Fernet token starts (version byte 0x80, then a timestamp)."""


class ConfigurationError(RuntimeError):
    """The service cannot start as configured; the message says how to fix it."""


OPENED_CACHE = 1024
"""Opened secrets kept per box (least recently used dropped first)."""


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError("FOLLOWUP_SECRET_KEY holds no key")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ConfigurationError(
                "FOLLOWUP_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated; make one with `followup secret-key`"
            ) from exc
        # The worker opens an endpoint's secret for every delivery it claims; the plain
        # text is no more exposed in this process than the key that opens it.
        self._open_cached = lru_cache(maxsize=OPENED_CACHE)(self._open)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._open_cached(sealed)

    def _open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "a stored secret cannot be opened with FOLLOWUP_SECRET_KEY: was the key changed "
                "without keeping the old one?"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (after a rotation)."""
        return self._fernet.rotate(sealed.encode()).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()


def _dev_key_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:"):
        return Path.cwd() / "followup-dev.key"
    return Path(database + ".key")


@lru_cache
def secret_box(secret_key: str | None, database_url: str) -> SecretBox:
    """The box for these settings (`Settings.secret_box()` is the usual way in)."""
    if secret_key:
        return SecretBox([key.strip() for key in secret_key.split(",") if key.strip()])
    path = _dev_key_file(database_url)
    if path is None:
        raise ConfigurationError(
            "FOLLOWUP_SECRET_KEY is required with PostgreSQL (it encrypts webhook secrets at "
            "rest); generate one with `followup secret-key` and keep it with your other secrets"
        )
    if not path.exists():
        _create_key_file(path)
    return SecretBox([path.read_text().strip()])


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` unless another process just did: the key is written to
    a private temporary file first and linked into place, so no process ever reads a
    half-written key, and the first one to link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".followup-key-")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key() + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return
    finally:
        os.unlink(temporary)
    logger.warning(
        "FOLLOWUP_SECRET_KEY is not set: generated a development key in %s. "
        "Set FOLLOWUP_SECRET_KEY in production.",
        path,
    )
