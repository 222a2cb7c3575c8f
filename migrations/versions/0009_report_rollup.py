"""report rollup kept by triggers

Revision ID: 0009
Revises: 0011
Create Date: 2026-11-27 22:40:00

The SLA report's rollups (``ticketing/models/report.py``), kept exact by triggers on
``tickets`` written here for SQLite and PostgreSQL, and filled from the existing tickets.
The volumes' index on messages becomes (direction, channel, sent_at): each day is then a
range counted from the index alone, with no GROUP BY sort (same number of indexes on messages).
``ix_tickets_report`` (0008's wide covering index, read by nothing else) is dropped: one index
fewer for every ticket write.

A live ticket (``merged_into_id IS NULL``) counts in ``report_rollup`` (on PostgreSQL through
``report_rollup_delta``, folded by the worker) once with its flags
(kind 0) and once per stored measure (kinds 1 and 2), under the WIB day of its first contact
and its channel, topic, team and agent as the report shows them.  ``report_customer_tickets``
counts each customer's live tickets; ``report_repeat_tickets`` holds the live tickets of the
customers that have two or more (the report counts distinct citizens from it).

Triggers: an INSERT adds the row's contribution (on PostgreSQL once per statement, set-based
over its transition table: ingest inserts a batch's tickets at once), a DELETE takes it away; an UPDATE fires only
when a column the report reads changes value: a change of customer or of merge state takes the
old row away and adds the new one (customers' counts and repeat tickets follow), any other
change of a report column moves the row's counts from the old key to the new one.  Autogenerate
does not see triggers: ``tests/test_migrations.py`` checks they exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ('report_tickets_insert', 'report_tickets_delete', 'report_tickets_move',
            'report_tickets_change')
# Every column the rollups are computed from.
REPORT_COLUMNS = ('first_message_at', 'channel', 'topic', 'team', 'assignee_id',
                  'first_response_state', 'resolution_state', 'resolved_at',
                  'first_response_business_minutes', 'resolution_business_minutes')


def _day(x: str, dialect: str) -> str:
    """The WIB (UTC+7, no daylight saving) day of the first contact, stored UTC."""
    if dialect == 'sqlite':
        return f"date({x}.first_message_at, '+7 hours')"
    return f"(({x}.first_message_at AT TIME ZONE 'UTC') + interval '7 hours')::date"


def _key(x: str, dialect: str) -> str:
    return (f"{_day(x, dialect)}, {x}.channel, coalesce({x}.topic, 'lainnya'), "
            f"coalesce({x}.team, '-'), coalesce({x}.assignee_id, 0)")


def _flags(x: str) -> str:
    # The report's bits: 1 first response met, 2 first response breached, 4 resolution
    # breached, 8 resolved.
    return (f"(CASE WHEN {x}.first_response_state = 'met' THEN 1 ELSE 0 END"
            f" + CASE WHEN {x}.first_response_state = 'breached' THEN 2 ELSE 0 END"
            f" + CASE WHEN {x}.resolution_state = 'breached' THEN 4 ELSE 0 END"
            f" + CASE WHEN {x}.resolved_at IS NOT NULL THEN 8 ELSE 0 END)")


def _met(x: str) -> str:
    return f"CASE WHEN {x}.first_response_state = 'met' THEN 1 ELSE 0 END"


def _rollup(x: str, sign: int, dialect: str) -> str:
    """Add (sign 1) or take away (sign -1) the contribution of the row ``x`` (NEW or OLD).
    SQLite (one writer at a time) updates the rollup in place; PostgreSQL appends to
    ``report_rollup_delta`` (folded later), so that concurrent transactions never wait on the
    same hot rollup row nor deadlock over two of them."""
    key = _key(x, dialect)
    rows = f"""
    SELECT * FROM (
        SELECT {key}, 0, {_flags(x)}, {sign}
        UNION ALL SELECT {key}, 1, {x}.first_response_business_minutes, {sign}
            WHERE {x}.first_response_business_minutes IS NOT NULL
        UNION ALL SELECT {key}, 2, {x}.resolution_business_minutes, {sign}
            WHERE {x}.resolution_business_minutes IS NOT NULL
    ) AS c WHERE {x}.merged_into_id IS NULL"""
    if dialect != 'sqlite':
        return f"""
    INSERT INTO report_rollup_delta (day, channel, topic, team, agent, kind, value, n) {rows};"""
    return f"""
    INSERT INTO report_rollup (day, channel, topic, team, agent, kind, value, n) {rows}
    ON CONFLICT (day, kind, channel, topic, team, agent, value)
    DO UPDATE SET n = report_rollup.n + excluded.n;"""


_REPEAT_COLUMNS = "ticket_id, customer_id, day, channel, topic, team, agent, met"
_REPEAT_UPSERT = """
    ON CONFLICT (ticket_id) DO UPDATE SET customer_id = excluded.customer_id,
        day = excluded.day, channel = excluded.channel, topic = excluded.topic,
        team = excluded.team, agent = excluded.agent, met = excluded.met;"""


# Customer first: the planner must find a customer's tickets by ``ix_tickets_customer_status``,
# never by ``merged_into_id IS NULL`` (all live tickets; without statistics, as in a freshly
# loaded database, PostgreSQL takes that test for a selective one).  OFFSET 0 keeps the test out
# of the subquery (SQLite: LIMIT -1, the same fence).
_FENCE = "OFFSET 0"


def _join(dialect: str) -> str:
    """NEW becomes a live ticket of its customer."""
    count = "(SELECT n FROM report_customer_tickets WHERE customer_id = NEW.customer_id)"
    fence = "LIMIT -1" if dialect == 'sqlite' else _FENCE
    return f"""
    INSERT INTO report_customer_tickets (customer_id, n)
    SELECT NEW.customer_id, 1 WHERE NEW.merged_into_id IS NULL
    ON CONFLICT (customer_id) DO UPDATE SET n = report_customer_tickets.n + 1;
    INSERT INTO report_repeat_tickets ({_REPEAT_COLUMNS})
    SELECT t.id, t.customer_id, {_key('t', dialect)}, {_met('t')}
    FROM (SELECT * FROM tickets WHERE customer_id = NEW.customer_id AND {count} = 2
          {fence}) AS t
    WHERE NEW.merged_into_id IS NULL AND t.merged_into_id IS NULL
    {_REPEAT_UPSERT}
    INSERT INTO report_repeat_tickets ({_REPEAT_COLUMNS})
    SELECT NEW.id, NEW.customer_id, {_key('NEW', dialect)}, {_met('NEW')}
    WHERE NEW.merged_into_id IS NULL AND {count} > 2
    {_REPEAT_UPSERT}"""


def _leave() -> str:
    """OLD, a live ticket of its customer, no longer is (deleted, merged, moved)."""
    return """
    UPDATE report_customer_tickets SET n = n - 1
    WHERE customer_id = OLD.customer_id AND OLD.merged_into_id IS NULL;
    DELETE FROM report_repeat_tickets WHERE ticket_id = OLD.id;
    DELETE FROM report_repeat_tickets
    WHERE customer_id = OLD.customer_id AND OLD.merged_into_id IS NULL
      AND (SELECT n FROM report_customer_tickets WHERE customer_id = OLD.customer_id) < 2;"""


def _change(dialect: str) -> str:
    """A live ticket stays its customer's, some report column changed."""
    return (_rollup('OLD', -1, dialect) + _rollup('NEW', 1, dialect) + f"""
    UPDATE report_repeat_tickets SET (day, channel, topic, team, agent, met)
        = ({_key('NEW', dialect)}, {_met('NEW')})
    WHERE ticket_id = NEW.id;""")


def _changed(dialect: str) -> str:
    ne = 'IS NOT' if dialect == 'sqlite' else 'IS DISTINCT FROM'
    cols = [f"OLD.{c} {ne} NEW.{c}" for c in REPORT_COLUMNS if c != 'resolved_at']
    cols.append("(OLD.resolved_at IS NULL) <> (NEW.resolved_at IS NULL)")
    return "(" + " OR ".join(cols) + ")"


def _moved(dialect: str) -> str:
    ne = 'IS NOT' if dialect == 'sqlite' else 'IS DISTINCT FROM'
    return (f"(OLD.customer_id {ne} NEW.customer_id "
            f"OR OLD.merged_into_id {ne} NEW.merged_into_id)")


def _stayed(dialect: str) -> str:
    return ("(OLD.customer_id = NEW.customer_id AND OLD.merged_into_id IS NULL "
            "AND NEW.merged_into_id IS NULL)")


def _sqlite_triggers() -> list[str]:
    leave, join = _rollup('OLD', -1, 'sqlite') + _leave(), _rollup('NEW', 1, 'sqlite') + _join('sqlite')
    return [
        f"CREATE TRIGGER report_tickets_insert AFTER INSERT ON tickets "
        f"WHEN NEW.merged_into_id IS NULL BEGIN {join} END",
        f"CREATE TRIGGER report_tickets_delete AFTER DELETE ON tickets "
        f"WHEN OLD.merged_into_id IS NULL BEGIN {leave} END",
        f"CREATE TRIGGER report_tickets_move AFTER UPDATE OF customer_id, merged_into_id "
        f"ON tickets WHEN {_moved('sqlite')} BEGIN {leave} {join} END",
        f"CREATE TRIGGER report_tickets_change AFTER UPDATE OF {', '.join(REPORT_COLUMNS)} "
        f"ON tickets WHEN {_stayed('sqlite')} AND {_changed('sqlite')} "
        f"BEGIN {_change('sqlite')} END",
    ]


def _inserted() -> str:
    """PostgreSQL, once per INSERT statement (ingest writes a batch's tickets in one COPY or
    INSERT): the same as the row trigger's join, set-based over the inserted rows."""
    pg = 'postgresql'
    key, live = _key('t', pg), "t.merged_into_id IS NULL"
    return f"""
    INSERT INTO report_rollup_delta (day, channel, topic, team, agent, kind, value, n)
    SELECT day, channel, topic, team, agent, kind, value, count(*) FROM (
        SELECT {key}, 0, {_flags('t')} FROM new_rows AS t WHERE {live}
        UNION ALL SELECT {key}, 1, t.first_response_business_minutes FROM new_rows AS t
            WHERE {live} AND t.first_response_business_minutes IS NOT NULL
        UNION ALL SELECT {key}, 2, t.resolution_business_minutes FROM new_rows AS t
            WHERE {live} AND t.resolution_business_minutes IS NOT NULL
    ) AS c (day, channel, topic, team, agent, kind, value)
    GROUP BY day, channel, topic, team, agent, kind, value;
    -- Customers' counts; those reaching two live tickets here ("crossing") bring their
    -- earlier one along into the repeat tickets, the others ("already") only the new rows.
    WITH added AS (
        SELECT customer_id, count(*) AS k FROM new_rows AS t WHERE {live} GROUP BY customer_id
    ), counted AS (
        INSERT INTO report_customer_tickets AS c (customer_id, n)
        SELECT customer_id, k FROM added ORDER BY customer_id
        ON CONFLICT (customer_id) DO UPDATE SET n = c.n + excluded.n
        RETURNING c.customer_id, c.n
    )
    SELECT array_agg(c.customer_id) FILTER (WHERE c.n - a.k < 2),
           array_agg(c.customer_id) FILTER (WHERE c.n - a.k >= 2)
    INTO crossing, already
    FROM counted AS c JOIN added AS a ON a.customer_id = c.customer_id WHERE c.n >= 2;
    IF crossing IS NOT NULL THEN  -- by ix_tickets_customer_status, customer by customer
        INSERT INTO report_repeat_tickets ({_REPEAT_COLUMNS})
        SELECT t.id, t.customer_id, {key}, {_met('t')}
        FROM (SELECT * FROM tickets WHERE customer_id = ANY(crossing) {_FENCE}) AS t
        WHERE {live}
        {_REPEAT_UPSERT}
    END IF;
    IF already IS NOT NULL THEN
        INSERT INTO report_repeat_tickets ({_REPEAT_COLUMNS})
        SELECT t.id, t.customer_id, {key}, {_met('t')} FROM new_rows AS t
        WHERE t.customer_id = ANY(already) AND {live}
        {_REPEAT_UPSERT}
    END IF;"""


def _pg_triggers() -> list[str]:
    pg = 'postgresql'
    return [
        f"""CREATE FUNCTION report_tickets_leave_join() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                IF OLD.merged_into_id IS NULL THEN {_rollup('OLD', -1, pg)} {_leave()} END IF;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                IF NEW.merged_into_id IS NULL THEN {_rollup('NEW', 1, pg)} {_join(pg)} END IF;
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION report_tickets_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_change(pg)} RETURN NULL; END $$""",
        f"""CREATE FUNCTION report_tickets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE crossing bigint[]; already bigint[];
        BEGIN {_inserted()} RETURN NULL; END $$""",
        "CREATE TRIGGER report_tickets_insert AFTER INSERT ON tickets "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION report_tickets_inserted()",
        "CREATE TRIGGER report_tickets_delete AFTER DELETE ON tickets FOR EACH ROW "
        "WHEN (OLD.merged_into_id IS NULL) EXECUTE FUNCTION report_tickets_leave_join()",
        f"CREATE TRIGGER report_tickets_move AFTER UPDATE OF customer_id, merged_into_id "
        f"ON tickets FOR EACH ROW WHEN {_moved(pg)} "
        f"EXECUTE FUNCTION report_tickets_leave_join()",
        f"CREATE TRIGGER report_tickets_change AFTER UPDATE OF {', '.join(REPORT_COLUMNS)} "
        f"ON tickets FOR EACH ROW WHEN ({_stayed(pg)} AND {_changed(pg)}) "
        f"EXECUTE FUNCTION report_tickets_change()",
    ]


def _backfill(dialect: str) -> None:
    key = _key('t', dialect)
    live = "t.merged_into_id IS NULL"
    op.execute(f"""
    INSERT INTO report_rollup (day, channel, topic, team, agent, kind, value, n)
    SELECT day, channel, topic, team, agent, kind, value, count(*) FROM (
        SELECT {_day('t', dialect)} AS day, t.channel AS channel,
               coalesce(t.topic, 'lainnya') AS topic, coalesce(t.team, '-') AS team,
               coalesce(t.assignee_id, 0) AS agent, 0 AS kind, {_flags('t')} AS value
        FROM tickets AS t WHERE {live}
        UNION ALL SELECT {key}, 1, t.first_response_business_minutes FROM tickets AS t
            WHERE {live} AND t.first_response_business_minutes IS NOT NULL
        UNION ALL SELECT {key}, 2, t.resolution_business_minutes FROM tickets AS t
            WHERE {live} AND t.resolution_business_minutes IS NOT NULL
    ) AS c
    GROUP BY day, channel, topic, team, agent, kind, value""")
    op.execute("""
    INSERT INTO report_customer_tickets (customer_id, n)
    SELECT customer_id, count(*) FROM tickets WHERE merged_into_id IS NULL
    GROUP BY customer_id""")
    op.execute(f"""
    INSERT INTO report_repeat_tickets ({_REPEAT_COLUMNS})
    SELECT t.id, t.customer_id, {key}, {_met('t')} FROM tickets AS t
    WHERE {live} AND t.customer_id IN
        (SELECT customer_id FROM report_customer_tickets WHERE n >= 2)""")


def upgrade() -> None:
    op.create_table('report_customer_tickets',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_report_customer_tickets'))
    )
    op.create_table('report_repeat_tickets',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('team', sa.String(length=60), nullable=False),
    sa.Column('agent', sa.BigInteger(), nullable=False),
    sa.Column('met', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_report_repeat_tickets'))
    )
    with op.batch_alter_table('report_repeat_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_report_repeat_tickets_customer_id', ['customer_id'], unique=False)
        batch_op.create_index('ix_report_repeat_tickets_day', ['day', 'channel', 'topic', 'team', 'agent', 'customer_id', 'met'], unique=False)

    op.create_table('report_rollup',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('team', sa.String(length=60), nullable=False),
    sa.Column('agent', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'kind', 'channel', 'topic', 'team', 'agent', 'value', name=op.f('pk_report_rollup')),
    sqlite_with_rowid=False
    )
    op.create_table('report_rollup_delta',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('team', sa.String(length=60), nullable=False),
    sa.Column('agent', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False)
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_report')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_sent')
        batch_op.create_index('ix_messages_volume', ['direction', 'channel', 'sent_at'], unique=False)

    dialect = op.get_bind().dialect.name
    _backfill(dialect)
    for statement in _sqlite_triggers() if dialect == 'sqlite' else _pg_triggers():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if dialect == 'sqlite' else " ON tickets"))
    if dialect != 'sqlite':
        op.execute("DROP FUNCTION IF EXISTS report_tickets_leave_join()")
        op.execute("DROP FUNCTION IF EXISTS report_tickets_change()")
        op.execute("DROP FUNCTION IF EXISTS report_tickets_inserted()")
    op.drop_table('report_rollup_delta')
    op.drop_table('report_rollup')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_volume')
        batch_op.create_index('ix_messages_sent', ['sent_at', 'direction', 'channel'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_report', ['first_message_at', 'merged_into_id', 'channel', 'topic', 'team', 'assignee_id', 'customer_id', 'first_response_state', 'resolution_state', 'resolved_at', 'first_response_business_minutes', 'resolution_business_minutes'], unique=False)

    with op.batch_alter_table('report_repeat_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_report_repeat_tickets_day')
        batch_op.drop_index('ix_report_repeat_tickets_customer_id')

    op.drop_table('report_repeat_tickets')
    op.drop_table('report_customer_tickets')
