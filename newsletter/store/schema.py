"""The tables, as the newest migration leaves them (migrations/versions/ builds them step by step).

    issues       one row per period key; the editor's draft (JSON), its state, a shared pause
    seen_items   story keys already sent, so a story never appears in two issues
    first_seen   when an undated story was first seen, so it is new once
    subscribers  the list, with a status, the time and cause of its last change, its source and consent
    forgotten    keyed hashes of erased addresses; signup_requests  what the signup limits count
    meta         the database's identity and the key of those hashes
    deliveries   the ledger: one row per (issue, subscriber), leased to one sender at a time
    senders      the processes delivering an issue now, with a heartbeat (rate shares, status)
    feed_state   per source: ETag / Last-Modified, the last good body, consecutive failures, its health
    runs         what each scheduled or manual send ended with

A test checks that these definitions and the migrations agree, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period_key", String(32), nullable=False, unique=True),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("draft", Text, nullable=False),  # JSON: headline, cards, links, editor choices
    Column("state", String(16), nullable=False, default="draft"),  # models.IssueState
    Column("subject", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),  # as sent, tokens in place, for the archive
    Column("text", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    # Shared by every sender of the issue: failures in a row, and why the send paused ("" when not).
    Column("errors_in_a_row", Integer, nullable=False, server_default="0"),
    Column("pause_reason", Text, nullable=False, server_default=""),
    # Why a send left the draft unsent for lack of items ("" when it did not): its items roll over.
    Column("rolled_over", Text, nullable=False, server_default=""),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), nullable=False),
)

first_seen = Table(
    "first_seen",
    metadata,
    Column("key", String(512), primary_key=True),  # collect.story_key of the item's link
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", Text, nullable=False, default=""),
    Column("fields", Text, nullable=False, default="{}"),  # JSON of extra CSV columns
    Column("status", String(16), nullable=False, default="active"),  # models.SubscriberStatus
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("cause", Text, nullable=False, default=""),
    Column("source", String(16), nullable=False, server_default="csv"),  # csv|import|add|form|link
    Column("asked_at", DateTime(timezone=True)),  # signup form: when they asked
    Column("confirmed_at", DateTime(timezone=True)),  # signup form: when they confirmed
)

# Addresses erased on request (`subscribers forget`): only a keyed hash, so they are never added again.
forgotten = Table(
    "forgotten",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("forgotten_at", DateTime(timezone=True), nullable=False),
)

# Signup requests, by keyed hashes of the address and the client: what the limits count.
signup_requests = Table(
    "signup_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("mailed", Boolean, nullable=False),
)

# What came back after a send (bounces, complaints, auto-replies, unsubscribes from an issue's links),
# per subscriber and issue. `subscribers forget` keeps the row, for the issue's counts, but erases who.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), index=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), index=True),
    Column("kind", String(16), nullable=False),  # models.FeedbackKind
    Column("status", String(16), nullable=False, default=""),  # the enhanced status code, e.g. 5.1.1
    Column("diagnostic", Text, nullable=False, default=""),  # the server's words
    Column("via", String(16), nullable=False),  # mailbox | webhook | link
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ref", String(255), unique=True),  # the notification's identity: read twice, counted once
)

# Facts about the database itself: its identity, the key of the hashes above.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # models.DeliveryState
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Float, nullable=False, default=0.0),  # unix time
    Column("code", Integer, nullable=False, default=0),
    Column("reply", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False, default=0.0),
    # The sender that holds the row until lease_until (unix time); "" and 0 when nobody does.
    Column("lease_owner", String(96), nullable=False, server_default=""),
    Column("lease_until", Float, nullable=False, server_default="0"),
    UniqueConstraint("issue_id", "subscriber_id"),
)
# What senders claim from: the unsent rows of an issue, in id order (PostgreSQL; SQLite reads by id).
Index(
    "ix_deliveries_unsent",
    deliveries.c.issue_id,
    deliveries.c.id,
    postgresql_where=deliveries.c.state.in_(("pending", "deferred")),
    sqlite_where=deliveries.c.state.in_(("pending", "deferred")),
)

senders = Table(
    "senders",
    metadata,
    Column("id", String(96), primary_key=True),  # host:pid:random, the lease owner's name
    Column("issue_id", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),  # the last heartbeat, unix time
)

feed_state = Table(
    "feed_state",
    metadata,
    Column("source", String(2048), primary_key=True),
    Column("etag", Text, nullable=False, default=""),
    Column("last_modified", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),  # last good body, reused on 304
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
    Column("entries", Integer, nullable=False, server_default="0"),  # in the source at its last good read
    Column("new_items", Integer, nullable=False, server_default="0"),  # new for the issue at the last collect
    Column("last_new_at", DateTime(timezone=True)),  # the cutoff of the last collect it gave something new
    Column(
        "alerted", String(16), nullable=False, server_default=""
    ),  # what the editors were told: failing|quiet
)

# The editor's word on one period's automatic send (newsletter.preflight): held, released, skipped.
preflights = Table(
    "preflights",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period_key", String(32), nullable=False, unique=True),
    Column("due_at", DateTime(timezone=True), nullable=False),  # the scheduled send it is about
    Column("expires_at", DateTime(timezone=True), nullable=False),  # the period's end: links die then
    Column("mailed_at", DateTime(timezone=True)),  # the preflight email went to the editors
    Column("state", String(16), nullable=False, default="pending"),  # pending | held | released | skipped
    Column("send_now", Boolean, nullable=False, default=False),  # released to go before its time
    Column("version", Integer, nullable=False, default=1),  # +1 at each change: a link works once
    Column("changed_at", DateTime(timezone=True)),
    Column("changed_by", String(64), nullable=False, default=""),  # "link" | "command" | "daemon"
    Column("reminded_at", DateTime(timezone=True)),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("trigger", String(16), nullable=False),  # manual | schedule
    Column("period_key", String(32), nullable=False, default=""),
    Column("outcome", String(16), nullable=False, default="running"),
    Column("message", Text, nullable=False, default=""),
    Column("ok", Boolean, nullable=False, default=False),
)
