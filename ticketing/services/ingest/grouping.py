"""Grouping that does not hang on one label (issue 16).

A citizen's message with topic words and no open ticket on that topic used to open a new ticket.
But the label of one message is a guess: a complaint can name two topics (the problem and where it
happened), say it repeats an earlier one in other words, or be a close paraphrase of it.  Before
a new ticket is opened, the citizen's open tickets (the candidates the decision already holds:
this customer's active tickets within the dedup window, never anybody else's) are checked, in
this order:

* **candidate topic** — another topic the message names as a problem (not only as the context
  it happened in), with a score of at least ``CANDIDATE_MIN``, is an open ticket's topic: the
  message is ambiguous between two problems and one of them is already open ("kode OTP untuk
  verifikasi nomor rekening tidak masuk" next to the citizen's open rekening ticket);
* **paraphrase** — the message's complaint words are a close paraphrase (rapidfuzz token set
  ratio ≥ ``PARAPHRASE_MIN``) of an open ticket's (its first message's, stored on the ticket);
* **says it follows up** — the message uses a follow-up marker ("saya ulangi", "menyambung",
  "belum ada jawaban", "same as my email") and names no problem of its own, only the context
  ("saya ulangi, yang soal waktu daftar gelombang 12 itu belum beres"): it continues a
  complaint, so it joins the open ticket it is closest to (best paraphrase, else the latest).
  A marker before a problem stated outright ("belum ada jawaban, OTP saya tidak masuk") does not
  outweigh it: that citizen may be repeating a complaint sent from another address.

Only then does a message that names a different problem open a ticket of its own.  Other
citizens' tickets are never looked at here: near-identical complaints from different citizens
stay separate tickets related by an incident (services.ingest.incidents), never merged.

Cost: the candidates are at most the customer's active tickets (``active_tickets`` reads at most
20); the complaint words of stored ones are read once per batch, by primary key, and only for a
message that matched no ticket by its topic.
"""

from __future__ import annotations

from typing import Any, Final

from rapidfuzz import fuzz

from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.evidence import Evidence
from ticketing.store import tickets as q

CANDIDATE_MIN: Final = 0.35
PARAPHRASE_MIN: Final = 85.0
FOLLOW_UP_NEAR: Final = 50.0  # a follow-up joins the ticket it resembles this much, else the latest


def _fingerprints(batch: Batch, tickets: list[q.TicketState]) -> dict[int, str]:
    missing = [t.id for t in tickets if not t.is_new and t.fingerprint is None
               and t.id not in batch.fingerprints]
    if missing:
        batch.fingerprints.update(q.fingerprints(batch.conn, missing))
    return {t.id: (t.fingerprint if t.fingerprint is not None
                   else batch.fingerprints.get(t.id, "")) for t in tickets}


def related_ticket(batch: Batch, ev: Evidence, candidates: list[q.TicketState]
                   ) -> tuple[q.TicketState, dict[str, Any]] | None:
    """The open ticket (of ``candidates``, newest activity first) this message continues
    although its topic is none of theirs, and why; None: it names a different problem."""
    if not candidates or not batch.policy.related_grouping:
        return None
    others = {topic: score for topic, score in ev.topic_candidates[1:]
              if score >= CANDIDATE_MIN and topic not in ev.context_topics}
    for ticket in candidates:
        if ticket.topic in others:
            return ticket, {"rule": "candidate_topic", "topic": ticket.topic,
                            "score": others[ticket.topic], "evidence": ev.topic_evidence}
    best: q.TicketState | None = None
    best_score = 0.0
    if ev.fingerprint:
        words = _fingerprints(batch, candidates)
        for ticket in candidates:
            if words[ticket.id]:
                score = float(fuzz.token_set_ratio(ev.fingerprint, words[ticket.id]))
                if score > best_score:
                    best, best_score = ticket, score
    if best is not None and best_score >= PARAPHRASE_MIN:
        return best, {"rule": "paraphrase", "score": round(best_score / 100, 3)}
    if ev.follow_up and not ev.named:
        near = best if best is not None and best_score >= FOLLOW_UP_NEAR else candidates[0]
        return near, {"rule": "says_follow_up", "marker": ev.follow_up, "topic": ev.topic}
    return None
