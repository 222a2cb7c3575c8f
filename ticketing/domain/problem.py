"""What went wrong, as opposed to where it happened: the role of each topic word in a complaint.

A citizen names the failing thing and its predicate ("NIK sudah dipakai", "OTP tidak masuk",
"insentif belum cair") and often the context it happened in ("waktu ikut gelombang 40",
"saat mau ganti nomor HP", "padahal pelatihan sudah selesai").  Counting every topic word the
same files a NIK problem that happened during a registration wave under the wave.  This module
gives each matched topic term a factor for its role in its clause:

* **problem** — the term is the subject or object of a failure predicate in the same clause: the
  nearest term before the predicate (with the terms right next to it: "saldo GoPay", "dana
  insentif tahap 1"), else the nearest one after it ("gagal verifikasi KTP"); a term that
  contains a predicate ("belum cair", "tidak lolos") is one itself;
* **context** — the term follows a context marker ("waktu", "saat", "pas", "sejak", "padahal",
  "when", "during", Javanese "nalika", Sundanese "basa" ...) in its clause, before any predicate;
* **other** — neither, in a message that does state a problem: a weaker mention;
* in a message without any failure predicate only context is told apart (the rest weigh 1).

Follow-up markers ("saya ulangi", "menyambung", "belum ada jawaban", "same as my email") are
recognised here too: a message that says it repeats itself belongs to the citizen's open ticket.

Pure: token lists in, factors out.  Linear in the number of tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ticketing.domain.text import normalize_tokens

_GAP_BEFORE: Final = 4  # words between a term and the predicate after it ("NIK saya <x> <y> ditolak")
_GAP_AFTER: Final = 3  # words between a predicate and the term after it ("gagal lagi verifikasi KTP")
_CONTEXT_REACH: Final = 6  # words a context marker governs ("saat mau ganti nomor HP di akun")


def _phrases(words: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases indexed by their first normalised token, longest first."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for toks in sorted({tuple(normalize_tokens(w)) for w in words}, key=lambda t: (-len(t), t)):
        if toks:
            out.setdefault(toks[0], []).append(toks)
    return out


def _match(index: Mapping[str, list[tuple[str, ...]]], tokens: Sequence[str], i: int,
           skip: frozenset[str] = frozenset()) -> int:
    """Length of the longest phrase starting at ``i`` (0: none); words in ``skip`` may stand
    between its words ("tidak pernah masuk" is "tidak masuk")."""
    for phrase in index.get(tokens[i], ()):
        j = i + 1
        for word in phrase[1:]:
            while j < len(tokens) and tokens[j] != word and tokens[j] in skip:
                j += 1
            if j >= len(tokens) or tokens[j] != word:
                break
            j += 1
        else:
            return j - i
    return 0


def _words(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise ValueError(f"invalid topics config: problem.{name} must be a list of words")
    return value


def _factor(data: Mapping[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 4:
        raise ValueError(f"invalid topics config: problem.{name} must be a number in (0, 4]")
    return float(value)


@dataclass(frozen=True, slots=True)
class ProblemVocab:
    predicates: Mapping[str, list[tuple[str, ...]]]
    # Verbs that take their object after them ("tidak bisa login", "gagal verifikasi KTP"): the
    # term right after wins over the one before ("sejak ganti nomor HP saya tidak bisa login").
    object_predicates: frozenset[tuple[str, ...]]
    context: Mapping[str, list[tuple[str, ...]]]
    follow_up: Mapping[str, list[tuple[str, ...]]]
    # Words that may stand inside a predicate: "tidak pernah masuk", "belum juga cair".
    adverbs: frozenset[str] = frozenset()
    problem_factor: float = 1.5
    context_factor: float = 0.35
    other_factor: float = 0.75

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None) -> ProblemVocab:
        """From the ``[problem]`` table of config/topics.toml (absent: no roles, no markers)."""
        data = data or {}
        if not isinstance(data, Mapping):
            raise ValueError("invalid topics config: [problem] must be a table")
        objects = _words(data, "object_predicates")
        return cls(predicates=_phrases([*_words(data, "predicates"), *objects]),
                   object_predicates=frozenset(tuple(normalize_tokens(w)) for w in objects),
                   context=_phrases(_words(data, "context_markers")),
                   follow_up=_phrases(_words(data, "follow_up_markers")),
                   adverbs=frozenset(t for w in _words(data, "adverbs") for t in normalize_tokens(w)),
                   problem_factor=_factor(data, "problem_factor", 1.5),
                   context_factor=_factor(data, "context_factor", 0.35),
                   other_factor=_factor(data, "other_factor", 0.75))

    def says_follow_up(self, tokens: Sequence[str]) -> str:
        """The follow-up marker the text uses ("saya ulangi", "belum ada jawaban"), or ""."""
        index = self.follow_up
        for i, tok in enumerate(tokens):
            if tok in index and (n := _match(index, tokens, i)):
                return " ".join(tokens[i:i + n])
        return ""

    def factors(self, tokens: Sequence[str], clause: Sequence[int],
                hits: Sequence[tuple[int, int]]) -> list[float]:
        """A weight factor per matched term (``hits``: token spans, in text order).

        ``clause[i]`` numbers the clause of token ``i`` (sentence punctuation and commas end one).
        """
        if not hits or not self.predicates:
            return [1.0] * len(hits)
        predicates: list[tuple[int, int]] = []
        markers: list[int] = []
        i = 0
        index, context = self.predicates, self.context
        while i < len(tokens):
            tok = tokens[i]
            if tok in index and (n := _match(index, tokens, i, self.adverbs)):
                predicates.append((i, i + n))
                i += n
                continue
            if tok in context and _match(context, tokens, i):
                markers.append(i)
            i += 1
        context_hits = self._context(clause, hits, predicates, markers)
        attached = (self._attached(tokens, clause, hits, predicates, self.object_predicates,
                                   context_hits) if predicates else set())
        # Without any predicate there is no problem to tell the other words from: only the
        # context is told apart ("yang soal waktu daftar gelombang 12 itu belum beres").
        other = self.other_factor if predicates else 1.0
        return [self.problem_factor if k in attached
                else self.context_factor if k in context_hits else other
                for k in range(len(hits))]

    @staticmethod
    def _context(clause: Sequence[int], hits: Sequence[tuple[int, int]],
                 predicates: list[tuple[int, int]], markers: list[int]) -> set[int]:
        """The terms a context marker governs: those after it in its clause, within reach,
        with no predicate in between ("waktu ikut gelombang 40", "setelah ganti rekening ke
        Mandiri", "after changing my bank account to BNI")."""
        out: set[int] = set()
        for k, (start, _end) in enumerate(hits):
            for m in markers:
                if m < start and clause[m] == clause[start] and start - m <= _CONTEXT_REACH \
                        and not any(m < ps < start for ps, _pe in predicates):
                    out.add(k)
                    break
        return out

    @staticmethod
    def _attached(tokens: Sequence[str], clause: Sequence[int], hits: Sequence[tuple[int, int]],
                  predicates: list[tuple[int, int]], objects: frozenset[tuple[str, ...]],
                  context: set[int]) -> set[int]:
        def words_between(a: int, b: int) -> int:
            # Numbers say nothing about grammar: "dana insentif tahap 1 sebesar Rp600.000 belum".
            return sum(1 for t in tokens[a:b] if not t.isdigit() and not t[:1].isdigit())

        found: set[int] = set()
        for p_start, p_end in predicates:
            # A term holding the predicate ("belum cair", "tidak cocok") is a problem term; the
            # thing it is said of is still looked for ("nama di rekening tidak cocok").
            inside = [k for k, (s, e) in enumerate(hits) if s < p_end and e > p_start]
            found.update(inside)
            # A predicate said of nothing but the context ("bar login dashboard teu lolos
            # gelombang 48") is said of the thing after it; a bare one ("waktu ikut gelombang
            # 40 sistemnya bilang NIK sudah dipakai") of the nearest thing before it.
            skip = context if inside else set()
            if inside:
                p_start = min(p_start, *(hits[k][0] for k in inside))
                p_end = max(p_end, *(hits[k][1] for k in inside))
            after = [k for k, (s, _e) in enumerate(hits) if s >= p_end and k not in skip
                     and clause[s] == clause[p_end - 1] and words_between(p_end, s) <= _GAP_AFTER]
            if after and tuple(tokens[p_start:p_end]) in objects \
                    and words_between(p_end, hits[after[0]][0]) <= 1:
                found.add(after[0])
                continue
            before = [k for k, (s, e) in enumerate(hits) if e <= p_start and k not in skip
                      and clause[s] == clause[p_start] and words_between(e, p_start) <= _GAP_BEFORE]
            if before:
                group = [before[-1]]
                for k in reversed(before[:-1]):  # the rest of the noun phrase, leftwards
                    if hits[k][1] == hits[group[-1]][0]:  # adjacent: "saldo GoPay"
                        group.append(k)
                    else:
                        break
                found.update(group)
                continue
            if after:
                found.add(after[0])
        return found
