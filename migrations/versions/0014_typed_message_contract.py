"""messages: the contract's automation kind, its reason and the thread references, typed

The core used to read ``extra["auto"]`` (why a mail is automated: a reason string, or ``true`` on
our acknowledgements) and ``extra["references"]`` (the References header, newest first) back
from stored messages.  They become columns: ``automation`` (an ``Automation`` value, NULL for a
person), ``automation_reason`` and ``reference_ids`` (NULL when there are none), backfilled from
``extra`` on both databases; the two keys leave ``extra``.  Old bounces become ``bounce`` (or
``delay`` when their report said ``Action: delayed``), read receipts ``receipt``, everything else
automated ``auto_reply``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

_PG_UP = """
UPDATE messages SET
  automation = CASE
    WHEN extra->'auto' IS NULL OR extra->'auto' IN ('null'::jsonb, 'false'::jsonb, '""'::jsonb)
      THEN NULL
    WHEN extra->>'auto' = 'bounce' AND extra->>'bounce_action' = 'delayed' THEN 'delay'
    WHEN extra->>'auto' = 'bounce' THEN 'bounce'
    WHEN extra->>'auto' = 'read-receipt' THEN 'receipt'
    ELSE 'auto_reply' END,
  automation_reason = CASE WHEN jsonb_typeof(extra->'auto') = 'string' AND extra->>'auto' <> ''
    THEN left(extra->>'auto', 60) END,
  reference_ids = CASE WHEN jsonb_typeof(extra->'references') = 'array'
    AND jsonb_array_length(extra->'references') > 0 THEN extra->'references' END,
  extra = extra - 'auto' - 'references'
WHERE extra ? 'auto' OR extra ? 'references'
"""

_SQLITE_UP = """
UPDATE messages SET
  automation = CASE
    WHEN json_type(extra, '$.auto') IS NULL OR json_type(extra, '$.auto') IN ('null', 'false')
      OR json_extract(extra, '$.auto') = '' THEN NULL
    WHEN json_extract(extra, '$.auto') = 'bounce'
      AND json_extract(extra, '$.bounce_action') = 'delayed' THEN 'delay'
    WHEN json_extract(extra, '$.auto') = 'bounce' THEN 'bounce'
    WHEN json_extract(extra, '$.auto') = 'read-receipt' THEN 'receipt'
    ELSE 'auto_reply' END,
  automation_reason = CASE WHEN json_type(extra, '$.auto') = 'text'
    AND json_extract(extra, '$.auto') <> '' THEN substr(json_extract(extra, '$.auto'), 1, 60) END,
  reference_ids = CASE WHEN json_type(extra, '$.references') = 'array'
    AND json_array_length(extra, '$.references') > 0 THEN json_extract(extra, '$.references') END,
  extra = json_remove(extra, '$.auto', '$.references')
WHERE json_type(extra, '$.auto') IS NOT NULL OR json_type(extra, '$.references') IS NOT NULL
"""

_PG_DOWN = """
UPDATE messages SET extra = extra
  || CASE WHEN automation IS NULL THEN '{}'::jsonb
          WHEN automation_reason IS NOT NULL THEN jsonb_build_object('auto', automation_reason)
          ELSE '{"auto": true}'::jsonb END
  || CASE WHEN reference_ids IS NULL OR reference_ids = 'null'::jsonb THEN '{}'::jsonb
          ELSE jsonb_build_object('references', reference_ids) END
WHERE automation IS NOT NULL OR reference_ids IS NOT NULL
"""

_SQLITE_DOWN = """
UPDATE messages SET extra = json_patch(json_patch(extra,
    CASE WHEN automation IS NULL THEN '{}'
         WHEN automation_reason IS NOT NULL THEN json_object('auto', automation_reason)
         ELSE json('{"auto": true}') END),
    CASE WHEN reference_ids IS NULL OR reference_ids = 'null' THEN '{}'
         ELSE json_object('references', json(reference_ids)) END)
WHERE automation IS NOT NULL OR (reference_ids IS NOT NULL AND reference_ids <> 'null')
"""


def upgrade() -> None:
    op.add_column('messages', sa.Column('automation', sa.String(length=20), nullable=True))
    op.add_column('messages', sa.Column('automation_reason', sa.String(length=60), nullable=True))
    op.add_column('messages', sa.Column('reference_ids', _JSON, nullable=True))
    op.execute(_PG_UP if op.get_bind().dialect.name == 'postgresql' else _SQLITE_UP)


def downgrade() -> None:
    op.execute(_PG_DOWN if op.get_bind().dialect.name == 'postgresql' else _SQLITE_DOWN)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('reference_ids')
        batch_op.drop_column('automation_reason')
        batch_op.drop_column('automation')
