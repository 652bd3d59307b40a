"""The classifier over the labelled corpus in tests/data/notifications/: 117 real bounces captured
from real servers (flufl.bounce's test data) and 22 written after what Postfix, Exim, Exchange,
Office 365, Gmail, qmail, the feedback loops and the auto-responders send, plus unrelated mail.

Every file must get its label, except the few listed in DISAGREE with the reason."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest
from conftest import ROOT

from newsletter.feedback.classify import classify
from newsletter.subscribers import verp_pattern, verp_token

pytestmark = pytest.mark.sqlite_only  # no database

CORPUS = ROOT / "tests" / "data" / "notifications"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text())
RCPT = "ada@example.org"
DISAGREE = {
    # Status 4.4.7 with Action: failed. The rule here is the status: a 4.x.x is transient (the next
    # issue may get through); flufl.bounce counts any final failure as permanent.
    "flufl/dsn_02.txt": "transient",
    # "mail box space not enough" with no status code: read as a failure notice; nothing in it says
    # the failure is temporary in a form a parser can use.
    "flufl/bounce_01.txt": "permanent",
    # A real DSN about somebody else's message: a bounce, but not ours. The mapping step leaves it
    # in the mailbox (test_bounces.py checks that with the same kind of message).
    "written/unrelated-bounce-of-other-mail.eml": "permanent",
}


def filled(path: str) -> bytes:
    token = verp_token("s" * 32, "nato-weekly.news.example.org", 42)
    raw = (CORPUS / path).read_bytes()
    return (
        raw.replace(b"{TOKEN}", token.encode())
        .replace(b"{DIGEST}", b"0" * 20)
        .replace(b"{RCPT}", RCPT.encode())
    )


def test_the_manifest_covers_every_file_once() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".txt", ".eml")}
    assert files == set(MANIFEST)


@pytest.mark.parametrize("path", sorted(MANIFEST))
def test_each_notification_gets_its_class_and_addresses(path: str) -> None:
    label = MANIFEST[path]
    notice = classify(filled(path), verp_pattern("bounces@news.example.org"))
    got = str(notice.kind or "unrelated")
    assert got == DISAGREE.get(path, label["class"]), (notice.why, label["note"])
    expected = {a.replace("{RCPT}", RCPT).lower() for a in label["addresses"]}
    if got in ("permanent", "transient", "complaint") and expected and path not in DISAGREE:
        assert expected <= {f.address for f in notice.failures}, notice.failures
    if (
        path.startswith("written/")
        and got != "unrelated"
        and "{TOKEN}" in (CORPUS / path).read_text("latin-1")
    ):
        assert notice.tokens, "the VERP token is found"


def test_the_counts_per_class() -> None:
    """The figures of the note: what the classifier says over the corpus, against the labels."""
    pattern = verp_pattern("bounces@news.example.org")
    said = Counter(
        (MANIFEST[p]["class"], str(classify(filled(p), pattern).kind or "unrelated")) for p in MANIFEST
    )
    right = sum(n for (label, got), n in said.items() if label == got)
    assert right == len(MANIFEST) - len(DISAGREE)
    assert said[("unrelated", "complaint")] == said[("autoreply", "permanent")] == 0
