"""Complaint topic classification from a configurable, weighted Indonesian vocabulary.

Owns the mapping from a citizen's words to one complaint topic (insentif, otp, nik, ...).  The
vocabulary is data (config/topics.toml, parsed by the caller and handed to ``from_config``); this
module owns how it is applied:

* identifiers given as evidence ("NIK saya 3224...", "email saya x@y") are removed first, so the
  word "NIK" in "NIK saya 3224..." does not make a login complaint a NIK complaint;
* tokens are slang-expanded, clitics stripped ("insentifnya"), and unknown tokens of five or more
  letters are typo-corrected against the vocabulary (same first letter, small edit distance);
* phrases are matched longest-first and consume their tokens ("dana insentif" is not also "dana"
  the e-wallet); each distinct term adds its weight once to its topic(s);
* below ``min_score`` nothing is guessed: the fallback topic is returned with a low score, because
  follow-ups ("masih belum ada kabar") belong to the citizen's open ticket, not to a new topic.

Pure: no files, clock, env or database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from rapidfuzz.distance import OSA

from ticketing.domain.problem import ProblemVocab
from ticketing.domain.topics_config import Term, classifier_arguments
from ticketing.domain.text import normalize_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicMatch:
    topic: str
    score: float  # confidence in [0, 1]; low for the fallback
    evidence: str  # the matched terms of the winning topic, strongest first (audit trail)
    # Every topic the text names substantially, best first, with its score (the winner first):
    # "waktu ikut gelombang 40 NIK saya sudah dipakai" is (nik, 0.8), (gelombang, 0.2).
    candidates: tuple[tuple[str, float], ...] = ()
    follow_up: str = ""  # the follow-up marker the text uses ("saya ulangi"), or ""
    # The winning topic is named outside any context clause: the text states a problem of its
    # own, not only where something happened ("yang soal waktu daftar gelombang 12 itu").
    named: bool = False
    context: tuple[str, ...] = ()  # candidates named only in a context clause


# Identifier mentions are replaced by sentinels before tokenising (they survive normalisation).  An
# identifier that ends its clause ("... NIK saya 3224.") is evidence and takes its label with it; one
# in mid-clause ("NIK saya 3224... tidak valid") is the subject of the complaint and keeps its label.
# An identifier followed by another identifier, its label, or a closing word ("NIK saya <n> no hp
# <p>", "<n> ya min", "<n> makasih") also ends its clause.  The sentinel says what kind of
# identifier it stands for, so only a compatible label is taken ("NIK tidak valid <phone>" keeps
# the word NIK: a phone number is not labelled by it).
_SENTINELS: Final = {"nik": "zzidentnikzz", "phone": "zzidentphonezz", "email": "zzidentemailzz"}
_SENTINEL_KIND: Final = {v: k for k, v in _SENTINELS.items()}
_SENTINEL_MID: Final = "zzidentmidzz"
_CLAUSE_END: Final = frozenset(".,;!?\n")
_NEXT_WORD_RE: Final = re.compile(r"[^\W\d_]+|[\d+(]")
_EMAIL_RE: Final = re.compile(r"[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LONG_NUMBER_RE: Final = re.compile(r"(?:\(\s*\+?\d{1,4}\s*\)\s?|\+\s?)?\d(?:[ .\-]{0,2}\d){7,}")
_CLITICS: Final = ("nya", "ku", "mu", "lah", "kah")
# Clause ends (a sentence mark or comma before a space, a line break) survive tokenising as this.
_CLAUSE: Final = "zzclausezz"
_CLAUSE_RE: Final = re.compile(r"[.,;:!?]+(?=\s|$)|\n")
# English negated verbs, before the apostrophe is split off: "can't" is "tidak bisa".
_CANT_RE: Final = re.compile(r"\b(?:can(?:no|'|’)t|unable to)\b", re.IGNORECASE)
_NT_RE: Final = re.compile(r"n(?:'|’)t\b", re.IGNORECASE)
_MAX_TOKENS: Final = 5_000
_LABEL_REACH: Final = 4  # tokens between a label and its identifier ("NIK saya yang baru: <n>")  # a 1 MB body is classified on its first words, not all of them


class TopicClassifier:
    """Weighted keyword/phrase classifier; build it once with ``from_config`` and reuse it."""

    def __init__(self, *, order: list[str], labels: dict[str, str], terms: list[Term],
                 slang: dict[str, str], evidence_labels: frozenset[str],
                 evidence_prefixes: frozenset[str], fallback: str,
                 min_score: float, saturation: float, fuzzy_min_length: int,
                 fuzzy_ignore: frozenset[str],
                 kind_labels: Mapping[str, frozenset[str]] | None = None,
                 account_labels: frozenset[str] = frozenset(),
                 account_fillers: frozenset[str] = frozenset(),
                 followers: frozenset[str] = frozenset(),
                 problem: ProblemVocab | None = None) -> None:
        self._problem = problem or ProblemVocab.from_config(None)
        self._order = order
        self._rank = {topic: i for i, topic in enumerate(order)}
        self._labels = labels
        self._slang = slang
        self._evidence_labels = evidence_labels
        self._evidence_prefixes = evidence_prefixes
        # Labels per identifier kind: the generic ones ("nomor", "hubungi") label any kind; an
        # account label ("rekening") labels a number only when nothing but bank names and
        # possessors stand between them ("rekening BRI saya <n>", not "ganti rekening ke <n>").
        kinds = kind_labels or {}
        self._labels_for = {k: evidence_labels | kinds.get(k, frozenset())
                            | (account_labels if k != "email" else frozenset())
                            for k in _SENTINELS}
        self._account_labels = account_labels
        self._account_fillers = account_fillers
        self._followers = followers
        self._all_labels = frozenset().union(*self._labels_for.values())
        self._fallback = fallback
        self._min_score = min_score
        self._saturation = saturation
        self._fuzzy_min_length = fuzzy_min_length
        self._fuzzy_ignore = fuzzy_ignore
        # Phrases indexed by their first token, longest first, so matching is one dict lookup per token.
        self._by_first: dict[str, list[Term]] = {}
        for term in sorted(terms, key=lambda t: -len(t.tokens)):
            self._by_first.setdefault(term.tokens[0], []).append(term)
        self._vocab = frozenset(tok for term in terms for tok in term.tokens)
        # Typo targets: the vocabulary *and* common non-topic words, so a typo of "selesai" is
        # recognised as "selesai" (left alone) instead of being pulled to "seleksi".
        # Spellings in the [slang] table are targets too ("sertfi" -> "sertif" -> "sertifikat",
        # "incetnive" -> "incentive" -> "insentif"): a typo of a known variant is still that word.
        by_letter: dict[str, list[tuple[str, bool]]] = {}
        slang_targets = {k for k, v in slang.items()
                         if all(t in self._vocab for t in v.split()) and " " not in k}
        for word in sorted(self._vocab | fuzzy_ignore | slang_targets):
            if len(word) >= fuzzy_min_length - 1 and word.isalpha():
                by_letter.setdefault(word[0], []).append(
                    (word, word in self._vocab or word in slang_targets))
        self._fuzzy_targets = {k: tuple(v) for k, v in by_letter.items()}
        # Per-instance cache of typo corrections: bounded, and dropped with the classifier.
        self._correct: Callable[[str], str] = functools.lru_cache(maxsize=50_000)(self._correct_uncached)
        self._transform: Callable[[str], tuple[str, ...]] = functools.lru_cache(maxsize=50_000)(
            self._transform_uncached)

    # --- construction -----------------------------------------------------------------------------
    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> TopicClassifier:
        """Build from the parsed config/topics.toml; ValueError says what is wrong with it."""
        return cls(**classifier_arguments(data))

    @property
    def topics(self) -> list[str]:
        """The configured topics in priority order, then the fallback."""
        return [*self._order, self._fallback]

    @property
    def fallback(self) -> str:
        return self._fallback

    def safe_title(self, topic: str | None, text: str, *, limit: int = 6) -> str:
        """A title for what several citizens wrote (an incident) that carries nobody's data:
        the topic's label, then up to ``limit`` words of ``text`` that are topic vocabulary or
        common words (never a name, a number or an address, which are neither)."""
        words = [w for w in re.findall(r"[a-z]+", text.lower())
                 if w in self._vocab or w in self._fuzzy_ignore]
        kept = list(dict.fromkeys(words))[:limit]
        head = self.label(topic) if topic else ""
        return " · ".join(p for p in (head, " ".join(kept)) if p)

    def label(self, topic: str) -> str:
        return self._labels.get(topic, topic)

    def correct(self, token: str) -> str:
        """The vocabulary's word for a typo ("insentip" -> "insentif"), else the token itself
        (the classifier's own correction, also used by search to read a query)."""
        return self._correct(token)

    # --- matching ---------------------------------------------------------------------------------
    def _correct_uncached(self, token: str) -> str:
        """Nearest vocabulary word for a typo ("insentip" -> "insentif"), or the token itself."""
        if len(token) < self._fuzzy_min_length or token in self._fuzzy_ignore or not token.isalpha():
            return token
        targets = self._fuzzy_targets.get(token[0], ())
        # Typos keep the first letter; allow one edit up to 7 letters, two from 8 on.
        limit = 1 if len(token) < 8 else 2
        best, best_dist, best_is_topic = token, limit + 1, False
        for word, is_topic in targets:
            if abs(len(word) - len(token)) > limit:
                continue
            dist = OSA.distance(token, word, score_cutoff=limit)
            # On a tie the common word wins: a wrong topic word is worse than a missed one.
            if dist < best_dist or (dist == best_dist and not is_topic):
                best, best_dist, best_is_topic = word, dist, is_topic
        if not best_is_topic:
            return token
        return self._slang.get(best, best)

    def _drop_evidence_label(self, out: list[str], kind: str) -> None:
        """Remove the label of an identifier given as evidence ("No KTP saya <n>", "email: <e>").

        The nearest label word of the identifier's kind within the last few tokens is removed with
        everything after it (the possessive "saya", a typo'd "saay"), then any label prefix just
        before it ("nomor", "akun").
        """
        labels = self._labels_for[kind]
        for back in range(1, min(_LABEL_REACH, len(out)) + 1):
            if out[-back] in labels:
                if out[-back] in self._account_labels and not all(
                        t in self._account_fillers for t in out[len(out) - back + 1:]):
                    return  # "ganti rekening ke <n>": the account is what the complaint is about
                del out[-back:]
                while out and out[-1] in self._evidence_prefixes:
                    out.pop()
                return

    def _clause_ends_after(self, rest: str) -> bool:
        rest = rest.lstrip(" \t")
        if not rest or rest[0] in _CLAUSE_END:
            return True
        word = _NEXT_WORD_RE.match(rest)
        if word is None:
            return False
        first = word.group().casefold()
        if not first.isalpha():  # another number follows: "NIK <n> 0812..."
            return True
        nxt = normalize_tokens(first)[:1]
        token = self._slang.get(nxt[0], nxt[0]) if nxt else first
        for clitic in _CLITICS:  # "hpku", "emailnya"
            if token.endswith(clitic) and token[: -len(clitic)] in self._all_labels:
                token = token[: -len(clitic)]
                break
        return (token in self._all_labels or token in self._evidence_prefixes
                or token in self._followers)

    def _transform_uncached(self, raw: str) -> tuple[str, ...]:
        """A token made ready to match: slang, clitics and typos (cached per token)."""
        tok = self._slang.get(raw, raw)
        if tok not in self._vocab:
            for clitic in _CLITICS:
                if tok.endswith(clitic) and tok[: -len(clitic)] in self._vocab:
                    tok = tok[: -len(clitic)]
                    break
            else:
                fixed = self._correct(tok)
                if fixed == tok:  # a typo'd word with a clitic: "insentiffnya"
                    for clitic in _CLITICS:
                        base = tok[: -len(clitic)]
                        if tok.endswith(clitic) and len(base) >= self._fuzzy_min_length:
                            fixed = self._correct(base)
                            if fixed != base:
                                break
                            fixed = tok
                tok = fixed
        return tuple(tok.split())

    def _prepare(self, text: str) -> tuple[list[str], list[int], list[str]]:
        """The text's tokens, ready to match, the clause number of each, and the normalised
        tokens before slang, typo and evidence handling (for the follow-up markers)."""
        def replace(m: re.Match[str]) -> str:
            if not self._clause_ends_after(m.string[m.end():m.end() + 30]):
                return f" {_SENTINEL_MID} "
            found = m.group()
            kind = ("email" if "@" in found
                    else "nik" if sum(ch.isdigit() for ch in found) == 16 else "phone")
            return f" {_SENTINELS[kind]} "

        text = _LONG_NUMBER_RE.sub(replace, _EMAIL_RE.sub(replace, text))
        if "'" in text or "’" in text or "nnot" in text or "nable" in text:
            text = _NT_RE.sub(" not", _CANT_RE.sub("tidak bisa", text))
        text = _CLAUSE_RE.sub(f" {_CLAUSE} ", text)
        out: list[str] = []
        clause: list[int] = []
        current = 0
        plain = normalize_tokens(text)[:_MAX_TOKENS]
        for raw in plain:
            if raw == _CLAUSE:
                current += 1
                continue
            kind = _SENTINEL_KIND.get(raw)
            if kind is not None:
                self._drop_evidence_label(out, kind)
                del clause[len(out):]
                continue
            if raw == _SENTINEL_MID:
                continue
            words = self._transform(raw)
            out.extend(words)
            clause.extend([current] * len(words))
        return out, clause, plain

    def classify(self, text: str) -> TopicMatch:
        tokens, clause, plain = self._prepare(text)
        hits: list[tuple[int, int, Term]] = []
        i = 0
        while i < len(tokens):
            for term in self._by_first.get(tokens[i], ()):
                n = len(term.tokens)
                if tuple(tokens[i:i + n]) == term.tokens and clause[i] == clause[i + n - 1]:
                    hits.append((i, i + n, term))
                    i += n
                    break
            else:
                i += 1
        follow_up = self._problem.says_follow_up(plain)
        if not hits:
            return TopicMatch(topic=self._fallback, score=0.0, evidence="", follow_up=follow_up)
        # Each distinct term counts once, with the strongest role it plays (problem > other >
        # context): see domain.problem.
        factors = self._problem.factors(tokens, clause, [(s, e) for s, e, _ in hits])
        role: dict[tuple[str, ...], tuple[float, Term]] = {}
        for (_s, _e, term), factor in zip(hits, factors, strict=True):
            if term.tokens not in role or role[term.tokens][0] < factor:
                role[term.tokens] = (factor, term)
        raw: dict[str, float] = {}
        scores: dict[str, float] = {}
        evidence_of: dict[str, list[tuple[float, str]]] = {}
        for factor, term in role.values():
            for topic, weight in term.weights:
                raw[topic] = raw.get(topic, 0.0) + weight
                scores[topic] = scores.get(topic, 0.0) + weight * factor
                evidence_of.setdefault(topic, []).append((weight * factor, term.text))
        # Decided among the topics whose words are present in substance (unweighted): a topic
        # named only as context still counts; a message with no substantial topic words is a
        # follow-up.
        ranked = sorted(scores.items(), key=lambda kv: (raw[kv[0]] < self._min_score, -kv[1],
                                                        self._rank[kv[0]]))
        top_topic, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = min(1.0, top / self._saturation) * top / (top + second)
        evidence = ", ".join(t for _, t in sorted(evidence_of[top_topic], key=lambda h: -h[0])[:3])
        if raw[top_topic] < self._min_score:
            return TopicMatch(topic=self._fallback, score=round(confidence * 0.5, 3),
                              evidence=evidence, follow_up=follow_up)
        named_topics = {topic for factor, term in role.values()
                        if factor > self._problem.context_factor for topic, _ in term.weights}
        candidates = tuple(
            (topic, round(min(1.0, value / self._saturation) * value / (value + (
                second if topic == top_topic else top)), 3))
            for topic, value in ranked[:3]
            if topic == top_topic or raw[topic] >= self._min_score)
        return TopicMatch(topic=top_topic, score=round(confidence, 3), evidence=evidence,
                          candidates=candidates, follow_up=follow_up,
                          named=top_topic in named_topics,
                          context=tuple(t for t, _ in candidates if t not in named_topics))
