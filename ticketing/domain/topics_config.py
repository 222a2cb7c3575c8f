"""Reading config/topics.toml into the topic classifier's parts: every table and value checked,
ValueError saying what is wrong (``TopicClassifier.from_config`` calls this).

Pure: no files (the caller parses the TOML), clock, env or database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ticketing.domain.problem import ProblemVocab
from ticketing.domain.text import normalize_tokens


def _req(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(f"invalid topics config: {message}")


def _weights(table: Any, where: str) -> dict[str, float]:
    _req(isinstance(table, Mapping), f"{where} must be a table of term = weight")
    out: dict[str, float] = {}
    for term, weight in table.items():
        _req(isinstance(term, str) and bool(term.strip()), f"{where} has an empty term")
        _req(isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > 0,
             f"{where}.{term} must be a positive number")
        out[term] = float(weight)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Term:
    text: str
    tokens: tuple[str, ...]
    weights: tuple[tuple[str, float], ...]  # (topic, weight)


def classifier_arguments(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``TopicClassifier`` for the parsed config/topics.toml."""
    _req(isinstance(data, Mapping), "top level must be a table")
    fallback_tbl = data.get("fallback")
    _req(isinstance(fallback_tbl, Mapping) and isinstance(fallback_tbl.get("topic"), str)
         and bool(fallback_tbl["topic"]), "[fallback] needs topic = \"...\"")
    assert isinstance(fallback_tbl, Mapping)
    fallback = str(fallback_tbl["topic"])
    settings = data.get("classifier", {})
    _req(isinstance(settings, Mapping), "[classifier] must be a table")
    min_score = settings.get("min_score", 2.0)
    saturation = settings.get("saturation", 4.0)
    fuzzy_min = settings.get("fuzzy_min_length", 5)
    for name, value in (("min_score", min_score), ("saturation", saturation)):
        _req(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
             f"classifier.{name} must be a positive number")
    _req(isinstance(fuzzy_min, int) and not isinstance(fuzzy_min, bool) and fuzzy_min >= 3,
         "classifier.fuzzy_min_length must be an integer >= 3")
    ignore = settings.get("common_words", [])
    _req(isinstance(ignore, list) and all(isinstance(w, str) for w in ignore),
         "classifier.common_words must be a list of words")
    slang_tbl = data.get("slang", {})
    _req(isinstance(slang_tbl, Mapping)
         and all(isinstance(k, str) and isinstance(v, str) for k, v in slang_tbl.items()),
         "[slang] must map words to replacement words")
    evidence_tbl = data.get("evidence", {})
    _req(isinstance(evidence_tbl, Mapping), "[evidence] must be a table")
    evidence = evidence_tbl.get("labels", [])
    prefixes = evidence_tbl.get("prefixes", [])
    lists: dict[str, Any] = {name: evidence_tbl.get(name, []) for name in (
        "nik_labels", "phone_labels", "email_labels", "account_labels", "account_fillers",
        "followers")}
    for name, words in (("labels", evidence), ("prefixes", prefixes), *lists.items()):
        _req(isinstance(words, list) and all(isinstance(w, str) for w in words),
             f"evidence.{name} must be a list of words")

    def word_set(name: str) -> frozenset[str]:
        # Multi-word entries ("terima kasih") count by their first normalised word.
        return frozenset(toks[0] for w in lists[name] if (toks := normalize_tokens(w)))

    topics = data.get("topics")
    _req(isinstance(topics, Mapping) and bool(topics), "[topics.<name>] tables are required")
    assert isinstance(topics, Mapping)
    _req(fallback not in topics, f"fallback topic {fallback!r} must not also be a topic")
    merged: dict[tuple[str, ...], dict[str, float]] = {}
    texts: dict[tuple[str, ...], str] = {}
    labels: dict[str, str] = {fallback: str(fallback_tbl.get("label", fallback))}
    for topic, spec in topics.items():
        _req(isinstance(spec, Mapping), f"topics.{topic} must be a table")
        _req(isinstance(spec.get("label"), str), f"topics.{topic}.label is required")
        labels[topic] = spec["label"]
        entries = {**_weights(spec.get("keywords", {}), f"topics.{topic}.keywords"),
                   **_weights(spec.get("phrases", {}), f"topics.{topic}.phrases")}
        _req(bool(entries), f"topics.{topic} has no keywords or phrases")
        for term, weight in entries.items():
            tokens = tuple(normalize_tokens(term))
            _req(bool(tokens), f"topics.{topic}: term {term!r} has no letters")
            merged.setdefault(tokens, {})[topic] = weight
            texts.setdefault(tokens, term)
    terms = [Term(text=texts[toks], tokens=toks, weights=tuple(w.items())) for toks, w in merged.items()]
    return dict(order=list(topics), labels=labels, terms=terms,
               slang={k.casefold(): v.casefold() for k, v in slang_tbl.items()},
               evidence_labels=frozenset(w.casefold() for w in evidence),
               evidence_prefixes=frozenset(w.casefold() for w in prefixes), fallback=fallback,
               min_score=float(min_score), saturation=float(saturation),
               fuzzy_min_length=fuzzy_min, fuzzy_ignore=frozenset(w.casefold() for w in ignore),
               kind_labels={"nik": word_set("nik_labels"), "phone": word_set("phone_labels"),
                            "email": word_set("email_labels")},
               account_labels=word_set("account_labels"),
               account_fillers=word_set("account_fillers"), followers=word_set("followers"),
               problem=ProblemVocab.from_config(data.get("problem")))
