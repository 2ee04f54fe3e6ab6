"""webhook secrets sealed at rest; idempotency records are complete responses

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:10:00

Webhook secrets grow to hold Fernet tokens, and existing plain secrets are sealed with
FOLLOWUP_SECRET_KEY (a database with endpoints needs the key to migrate). Idempotency
records are now written with their response in the request's transaction, so a record
always has one: unfinished claims of the previous design are dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.crypto import SEALED_PREFIX, SecretBox
from app.settings import get_settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.String),
    sa.column("secret", sa.String),
    sa.column("previous_secret", sa.String),
)


def _box() -> SecretBox:
    url = op.get_bind().engine.url.render_as_string(hide_password=False)
    return get_settings().model_copy(update={"database_url": url}).secret_box()


def _reseal(seal: bool) -> None:
    """Seal (upgrade) or open (downgrade) every endpoint's secrets."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_endpoints)).all()
    if not rows:
        return
    box = _box()
    for row in rows:
        values = {}
        for name in ("secret", "previous_secret"):
            value = getattr(row, name)
            if value is None or value.startswith(SEALED_PREFIX) == seal:
                continue
            values[name] = box.seal(value) if seal else box.open(value)
        if values:
            bind.execute(sa.update(_endpoints).where(_endpoints.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", type_=sa.String(length=500), existing_nullable=False)
        batch.alter_column("previous_secret", type_=sa.String(length=500), existing_nullable=True)
    _reseal(seal=True)
    op.execute("DELETE FROM idempotency_keys WHERE status_code IS NULL")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("status_code", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("response_headers", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("response_body", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("response_body", existing_type=sa.Text(), nullable=True)
        batch.alter_column("response_headers", existing_type=sa.JSON(), nullable=True)
        batch.alter_column("status_code", existing_type=sa.Integer(), nullable=True)
    _reseal(seal=False)
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("previous_secret", type_=sa.String(length=100), existing_nullable=True)
        batch.alter_column("secret", type_=sa.String(length=100), existing_nullable=False)
