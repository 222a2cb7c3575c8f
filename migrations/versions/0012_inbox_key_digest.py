"""inbox: idempotency enforced on a fixed 16-byte digest of the key

The inbox's unique index was on the idempotency key itself (up to 600 characters: a channel's
Message-ID, a content hash in hexadecimal ...), about 85 bytes an entry for the usual keys.
Every accepted payload inserts one entry at a random place in it, so with a million stored
payloads each insert dirties a leaf of a 95 MB index that the next commit writes to the WAL and
the next checkpoint back to the file (a third of all pages an ingest wrote, measured).  The
unique index moves to ``key_digest`` = the first 16 bytes of SHA-256 of the key (no collision
in any realistic lifetime: 2^64 keys before even odds), about three times smaller; the key
itself stays on the row for people to read.

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-28 00:40:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000


def upgrade() -> None:
    op.add_column('inbox', sa.Column('key_digest', sa.LargeBinary(length=16), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE inbox SET key_digest = "
                   "substring(sha256(convert_to(idempotency_key, 'UTF8')) FROM 1 FOR 16)")
    else:
        # SQLite has no SHA-256: the digests are computed here, a batch of ids at a time.
        last = 0
        while True:
            rows = bind.execute(sa.text(
                "SELECT id, idempotency_key FROM inbox WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": BATCH}).all()
            if not rows:
                break
            bind.execute(sa.text("UPDATE inbox SET key_digest = :d WHERE id = :id"),
                         [{"id": r[0], "d": hashlib.sha256(r[1].encode()).digest()[:16]}
                          for r in rows])
            last = rows[-1][0]
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('key_digest', existing_type=sa.LargeBinary(length=16),
                              nullable=False)
        batch_op.drop_constraint('uq_inbox_idempotency_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_inbox_key_digest'), ['key_digest'])


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_inbox_key_digest'), type_='unique')
        batch_op.create_unique_constraint('uq_inbox_idempotency_key', ['idempotency_key'])
        batch_op.drop_column('key_digest')
