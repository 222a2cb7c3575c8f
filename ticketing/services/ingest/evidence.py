"""What a message tells about who wrote it and what it is about: identifiers (from the sender
fields and from the writer's own words) and the complaint topic.  Pure domain calls, gathered in
one place so the pipeline, the re-ingest and the benchmarks read the same evidence."""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.domain.claimed import claimed_identifiers
from ticketing.domain.identity import LINKING_KINDS, Identifier, sender_identifiers
from ticketing.domain.message import InboundMessage
from ticketing.domain.similarity import band_keys, cluster_key, fingerprint
from ticketing.domain.text import citizen_text
from ticketing.domain.topics import TopicClassifier


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidencePolicy:
    classifier: TopicClassifier
    fallback_topic: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    identifiers: tuple[Identifier, ...]
    topic: str
    topic_score: float
    topic_evidence: str
    # Every topic the message names substantially, best first, with its score ("waktu ikut
    # gelombang 40 NIK saya ditolak": nik first, gelombang after), and the follow-up marker it
    # uses ("saya ulangi"): what services.ingest.grouping relates it to open tickets by.
    topic_candidates: tuple[tuple[str, float], ...] = ()
    follow_up: str = ""
    named: bool = True  # the topic is stated as a problem, not only as context (domain.topics)
    context_topics: tuple[str, ...] = ()  # candidates named only as context
    citizen_text: str = ""
    # Incident look-alike signature, computed here (the pure, parallel half) not at write time.
    fingerprint: str = ""
    band_keys: tuple[int, ...] = ()
    # The message's cluster (``InboundMessage.cluster``) as a band key, also in ``band_keys``.
    cluster_key: int | None = None

    def is_vague(self, policy: EvidencePolicy) -> bool:
        """No topic words at all: a follow-up such as "gimana kak, belum ada kabar?"."""
        return self.topic == policy.fallback_topic


def gather(msg: InboundMessage, policy: EvidencePolicy) -> Evidence:
    if msg.from_desk:
        # Our own words to the citizen: only whom it was sent to counts, never what it says.
        return Evidence(identifiers=tuple(i for i in sender_identifiers(msg.sender)
                                          if i.kind in LINKING_KINDS),
                        topic=policy.fallback_topic, topic_score=0.0, topic_evidence="")
    text = citizen_text(msg.body)
    found: dict[tuple[str, str], Identifier] = {}
    # The raw body, not ``text``: in a call, a bare number read out right after the agent asks
    # for it is the caller's; claimed_identifiers skips agent turns and quoted mail itself.
    for ident in [*sender_identifiers(msg.sender), *claimed_identifiers(msg.body)]:
        if ident.kind not in LINKING_KINDS:
            continue  # a username can change hands: shown on messages, never used to link
        found.setdefault((str(ident.kind), ident.value), ident)
    match = policy.classifier.classify(f"{msg.subject or ''}\n{text}")
    topical = match.topic != policy.fallback_topic
    cluster = cluster_key(msg.cluster) if msg.cluster else None
    keys = tuple(band_keys(text)) if topical else ()
    return Evidence(identifiers=tuple(found.values()), topic=match.topic,
                    topic_score=match.score, topic_evidence=match.evidence, citizen_text=text,
                    topic_candidates=match.candidates, follow_up=match.follow_up,
                    named=match.named, context_topics=match.context,
                    fingerprint=fingerprint(text) if topical else "",
                    band_keys=(*keys, cluster) if cluster is not None else keys,
                    cluster_key=cluster)
