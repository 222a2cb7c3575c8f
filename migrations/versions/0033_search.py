"""search and live events: a full-text index over messages and the live_events table, both
kept by triggers in the writing transaction

Full text (subjects, bodies, call transcripts):
* SQLite: ``messages_fts``, an FTS5 table over ``messages`` (external content: the text is
  not stored twice), tokenizer ``unicode61`` without diacritics, kept by three triggers.
* PostgreSQL: a text search configuration ``ticketing_id`` (a copy of ``simple``: PostgreSQL
  has no Indonesian stemmer; the Indonesian part, slang and typo spellings and stop words, is
  the query's, ``domain/search.py``) and a GIN index on the messages' text vector
  (``ix_messages_search``).  The expression index is written by every writer in the same
  transaction, COPY included; only the first 100,000 characters are indexed, so a huge body
  can never make ``to_tsvector`` fail (over 1 MB of lexemes) and with it the message's write.

Live events: one row per new ticket, new inbound message, ticket (re)assigned and
notification, written by triggers (SQLite: per row; PostgreSQL: per statement over its
transition table, then ``pg_notify('ticketing_live', '<lo> <hi>')`` which is delivered at
commit).  Several worker hosts write; every serving process sees them.

Autogenerate sees neither the FTS5 table nor the expression index nor triggers:
``store.migrate.OUTSIDE_MODELS`` names them and ``tests/test_migrations.py`` checks they exist.

Revision ID: 0033_search
Revises: 0025
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0033_search'
down_revision: str | None = '0031_topics'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_DOCUMENT = ("to_tsvector('ticketing_id'::regconfig, "
               "left(coalesce(subject, '') || ' ' || body, 100000))")
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def _event(kind: str, ticket: str, message: str, user: str, now: str) -> str:
    return (f"INSERT INTO live_events (kind, ticket_id, message_id, user_id, created_at) "
            f"VALUES ('{kind}', {ticket}, {message}, {user}, {now});")


SQLITE = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body, content='messages', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts (rowid, subject, body) VALUES (NEW.id, NEW.subject, NEW.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts (messages_fts, rowid, subject, body) "
    "VALUES ('delete', OLD.id, OLD.subject, OLD.body); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, body ON messages BEGIN "
    "INSERT INTO messages_fts (messages_fts, rowid, subject, body) "
    "VALUES ('delete', OLD.id, OLD.subject, OLD.body); "
    "INSERT INTO messages_fts (rowid, subject, body) VALUES (NEW.id, NEW.subject, NEW.body); END",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    "CREATE TRIGGER live_messages AFTER INSERT ON messages WHEN NEW.direction = 'in' BEGIN "
    + _event('message.created', 'NEW.ticket_id', 'NEW.id', 'NULL', SQLITE_NOW) + " END",
    "CREATE TRIGGER live_tickets_created AFTER INSERT ON tickets BEGIN "
    + _event('ticket.created', 'NEW.id', 'NULL', 'NEW.assignee_id', SQLITE_NOW) + " END",
    "CREATE TRIGGER live_tickets_assigned AFTER UPDATE OF assignee_id ON tickets "
    "WHEN NEW.assignee_id IS NOT NULL AND NEW.assignee_id IS NOT OLD.assignee_id BEGIN "
    + _event('ticket.assigned', 'NEW.id', 'NULL', 'NEW.assignee_id', SQLITE_NOW) + " END",
    "CREATE TRIGGER live_notifications AFTER INSERT ON notifications BEGIN "
    + _event('notification', 'NEW.ticket_id', 'NULL', 'NEW.user_id', SQLITE_NOW) + " END",
]
SQLITE_DOWN = ["DROP TRIGGER live_notifications", "DROP TRIGGER live_tickets_assigned",
               "DROP TRIGGER live_tickets_created", "DROP TRIGGER live_messages",
               "DROP TRIGGER messages_fts_update", "DROP TRIGGER messages_fts_delete",
               "DROP TRIGGER messages_fts_insert", "DROP TABLE messages_fts"]


def _pg_function(name: str, select: str) -> str:
    """A statement trigger's function: the events of the statement's rows, then one
    notification naming their id range (delivered at commit, in commit order)."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE lo bigint; hi bigint;
BEGIN
    WITH added AS (
        INSERT INTO live_events (kind, ticket_id, message_id, user_id, created_at)
        {select}
        RETURNING id)
    SELECT min(id), max(id) INTO lo, hi FROM added;
    IF lo IS NOT NULL THEN
        PERFORM pg_notify('ticketing_live', lo || ' ' || hi);
    END IF;
    RETURN NULL;
END $$"""


PG_TRIGGERS = {
    # name: (table, event, transition tables, select)
    'live_messages': ('messages', 'INSERT', 'NEW TABLE AS new_rows',
                      "SELECT 'message.created', n.ticket_id, n.id, NULL, now() "
                      "FROM new_rows AS n WHERE n.direction = 'in' ORDER BY n.id"),
    'live_tickets_created': ('tickets', 'INSERT', 'NEW TABLE AS new_rows',
                             "SELECT 'ticket.created', n.id, NULL, n.assignee_id, now() "
                             "FROM new_rows AS n ORDER BY n.id"),
    'live_tickets_assigned': ('tickets', 'UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
                              "SELECT 'ticket.assigned', n.id, NULL, n.assignee_id, now() "
                              "FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id "
                              "WHERE n.assignee_id IS NOT NULL "
                              "AND n.assignee_id IS DISTINCT FROM o.assignee_id ORDER BY n.id"),
    'live_notifications': ('notifications', 'INSERT', 'NEW TABLE AS new_rows',
                           "SELECT 'notification', n.ticket_id, NULL, n.user_id, now() "
                           "FROM new_rows AS n ORDER BY n.id"),
}


def upgrade() -> None:
    op.create_table(
        'live_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=True),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=True),
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_live_events')),
        sqlite_autoincrement=True)
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE:
            op.execute(statement)
        return
    op.execute("CREATE TEXT SEARCH CONFIGURATION ticketing_id (COPY = simple)")
    # Built from the existing messages here (the backfill); kept by every write after.
    op.execute(f"CREATE INDEX ix_messages_search ON messages USING gin ({PG_DOCUMENT})")
    for name, (table, event, transitions, select) in PG_TRIGGERS.items():
        op.execute(_pg_function(name, select))
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        for name, (table, *_rest) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        op.execute("DROP INDEX ix_messages_search")
        op.execute("DROP TEXT SEARCH CONFIGURATION ticketing_id")
    op.drop_table('live_events')
