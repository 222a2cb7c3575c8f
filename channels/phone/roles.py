"""Which speaker of a call is the desk's agent and which the caller, and how we know.

A format hands over ``Piece``s: what one speaker said (``speaker``: the label as written — a role
word, a person's name, ``spk_0``, ``ch_1``), with a ``role`` when the format itself states it.
``resolve`` decides every speaker's role, in this order (the first that decides wins):

1. ``stated``: the format says so (Contact Lens and Call Analytics ``ParticipantRole``);
   ``labels``: the speaker's label is a role word (Petugas, Pelapor, Agent, Caller ...);
2. ``agent_speaker``: the upload named the agent's speaker label (every other one is a caller);
3. ``channel_roles``: the configured channel → role mapping (AWS channel identification,
   ``TICKETING_PHONE_CHANNEL_ROLES``);
4. ``agent_names``: a configured agent name or a staff user's name (named voices in WebVTT/SRT);
5. once an agent is known, every other speaker is a caller (``other_speaker``);
6. ``content``: the desk's greeting and questions vs the caller's complaint (``voices``) — an
   inference, and the message says so (``RoleReport.inferred``).

Never "the first speaker is the agent": a caller often speaks first.  When nothing decides
(no cue either way) the file is quarantined with the way out (configure, or name the agent).

Pure: no configuration is read here; the composition root hands ``RoleHints`` in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from channels.phone.call import CallTurn, Role, merge_turns, role_of
from channels.phone.voices import cue_counts
from ticketing.domain.errors import MalformedPayload

_CHANNEL_RE: Final = re.compile(r"^(?:ch(?:annel)?[_ -]?)?(\d{1,2})$", re.IGNORECASE)
_ROLE_WORDS: Final = {"agent": Role.AGENT, "agen": Role.AGENT, "petugas": Role.AGENT,
                      "caller": Role.CALLER, "customer": Role.CALLER, "penelepon": Role.CALLER,
                      "pelapor": Role.CALLER}
MACHINE_LABEL_RE: Final = re.compile(r"^(?:spk|ch|speaker|channel)[_ -]?\d+$", re.IGNORECASE)


def channel_key(label: str) -> str | None:
    """``ch_0`` / ``0`` / ``channel 0`` → ``ch_0``; anything else → None."""
    found = _CHANNEL_RE.match(label.strip())
    return f"ch_{int(found[1])}" if found else None


def name_key(name: str) -> str:
    """A person's name for comparison: accents, case, titles in brackets and punctuation
    dropped ("Rina Wulandari (Prakerja)" and "rina  wulandari" are one name)."""
    plain = unicodedata.normalize("NFKD", re.sub(r"[(\[|].*$", "", name))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W\d_]+", plain.casefold()))


def channel_roles_from(text: str | Mapping[str, str]) -> dict[str, Role]:
    """``"ch_0=agent,ch_1=caller"`` (or a mapping) → ``{"ch_0": AGENT, "ch_1": CALLER}``;
    ``ValueError`` with the bad entry otherwise."""
    pairs: Iterable[tuple[str, str]]
    if isinstance(text, Mapping):
        pairs = ((str(k), str(v)) for k, v in text.items())
    else:
        pairs = []
        for entry in (e.strip() for e in text.split(",")):
            if entry:
                key, sep, value = entry.partition("=")
                if not sep:
                    raise ValueError(f"channel role {entry!r}: expected ch_N=agent|caller")
                pairs.append((key, value))
    out: dict[str, Role] = {}
    for key, value in pairs:
        channel = channel_key(key)
        role = _ROLE_WORDS.get(value.strip().lower())
        if channel is None or role is None:
            raise ValueError(f"channel role {key}={value}: expected ch_N=agent|caller")
        out[channel] = role
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleHints:
    """What the desk configured or the upload said (see the module docstring)."""

    agent_names: frozenset[str] = frozenset()  # name_key()s of agents and staff users
    channel_roles: Mapping[str, Role] = field(default_factory=dict)
    agent_speaker: str | None = None

    @classmethod
    def build(cls, *, agent_names: Iterable[str] = (),
              channel_roles: Mapping[str, Role] | None = None,
              agent_speaker: str | None = None) -> RoleHints:
        keys = frozenset(k for k in (name_key(n) for n in agent_names) if k)
        return cls(agent_names=keys, channel_roles=dict(channel_roles or {}),
                   agent_speaker=agent_speaker)

    def with_agent_speaker(self, speaker: str | None) -> RoleHints:
        if not speaker:
            return self
        return RoleHints(agent_names=self.agent_names, channel_roles=self.channel_roles,
                         agent_speaker=speaker)

    def is_agent_name(self, speaker: str) -> bool:
        if not self.agent_names:
            return False
        key = name_key(speaker)
        if not key:
            return False
        if key in self.agent_names:
            return True
        # "Rina Wulandari S Kom" is "Rina Wulandari": a two-word name inside a longer one.
        words = key.split()
        return any(len(n.split()) >= 2 and all(w in words for w in n.split())
                   for n in self.agent_names)


NO_HINTS: Final = RoleHints()


@dataclass(frozen=True, slots=True)
class Piece:
    speaker: str
    start_ms: int | None
    end_ms: int | None
    text: str
    role: Role | None = None  # stated by the format


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerRole:
    speaker: str
    role: Role
    by: str  # stated / labels / agent_speaker / channel_roles / agent_names / other_speaker / content
    cues: tuple[int, int] | None = None  # (desk, caller) cue counts, when content decided


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleReport:
    speakers: tuple[SpeakerRole, ...]

    @property
    def inferred(self) -> bool:
        return any(s.by == "content" for s in self.speakers)

    @property
    def method(self) -> str:
        """The rule that decided the call: ``content`` when any role was inferred, else the
        rule that found the agent (or the callers)."""
        if self.inferred:
            return "content"
        ways = [s.by for s in self.speakers if s.by != "other_speaker"]
        return ways[0] if ways else "other_speaker"

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "inferred": self.inferred,
                "speakers": [{"speaker": s.speaker[:80], "role": s.role.value, "by": s.by,
                              **({"desk_cues": s.cues[0], "caller_cues": s.cues[1]}
                                 if s.cues else {})}
                             for s in self.speakers[:20]]}


UNDECIDED: Final = ("cannot tell the agent from the caller: no greeting or complaint recognised "
                    "(name the agent's speaker with the upload, or configure "
                    "TICKETING_PHONE_CHANNEL_ROLES / TICKETING_PHONE_AGENT_NAMES)")


def _explicit(speaker: str, stated: Role | None, stated_by: str,
              hints: RoleHints) -> SpeakerRole | None:
    if stated is not None:
        return SpeakerRole(speaker=speaker, role=stated, by=stated_by)
    if not MACHINE_LABEL_RE.match(speaker):
        labelled = role_of(speaker)
        if labelled is not None:
            return SpeakerRole(speaker=speaker, role=labelled, by="labels")
    if hints.agent_speaker:
        role = Role.AGENT if speaker == hints.agent_speaker else Role.CALLER
        return SpeakerRole(speaker=speaker, role=role, by="agent_speaker")
    channel = channel_key(speaker) if speaker.lower().startswith("ch") else None
    if channel is not None and channel in hints.channel_roles:
        return SpeakerRole(speaker=speaker, role=hints.channel_roles[channel], by="channel_roles")
    if hints.is_agent_name(speaker):
        return SpeakerRole(speaker=speaker, role=Role.AGENT, by="agent_names")
    return None


def _by_content(open_: list[str], said: Mapping[str, list[str]]) -> dict[str, SpeakerRole]:
    counts = {s: cue_counts(said[s]) for s in open_}
    if len(open_) == 1:
        (only,) = open_
        desk, caller = counts[only]
        role = Role.AGENT if desk > caller else Role.CALLER
        return {only: SpeakerRole(speaker=only, role=role, by="content", cues=counts[only])}
    net = {s: d - c for s, (d, c) in counts.items()}
    ranked = sorted(open_, key=lambda s: net[s], reverse=True)
    best, runner = ranked[0], ranked[1]
    if net[best] == net[runner] or not any(d or c for d, c in counts.values()):
        raise MalformedPayload(UNDECIDED)
    out: dict[str, SpeakerRole] = {}
    for s in open_:
        desk, caller = counts[s]
        # A second agent (a transfer, a supervisor) must sound like the desk on its own.
        agent = s == best or (desk >= 2 and caller == 0 and net[s] > 0)
        out[s] = SpeakerRole(speaker=s, role=Role.AGENT if agent else Role.CALLER, by="content",
                             cues=counts[s])
    return out


def resolve(pieces: Iterable[Piece], hints: RoleHints = NO_HINTS, *,
            stated_by: str = "stated") -> tuple[tuple[CallTurn, ...], RoleReport]:
    """Every speaker's role (module docstring), then the turns in order with consecutive
    pieces of one role merged."""
    pieces = list(pieces)
    said: dict[str, list[str]] = {}
    stated: dict[str, Role] = {}
    for p in pieces:
        said.setdefault(p.speaker, []).append(p.text)
        if p.role is not None:
            stated.setdefault(p.speaker, p.role)
    decided: dict[str, SpeakerRole] = {}
    for speaker in said:
        found = _explicit(speaker, stated.get(speaker), stated_by, hints)
        if found is not None:
            decided[speaker] = found
    open_ = [s for s in said if s not in decided]
    if open_:
        known = {d.role for d in decided.values()}
        if Role.AGENT in known:
            decided.update((s, SpeakerRole(speaker=s, role=Role.CALLER, by="other_speaker"))
                           for s in open_)
        elif Role.CALLER in known and len(open_) == 1:
            decided[open_[0]] = SpeakerRole(speaker=open_[0], role=Role.AGENT, by="other_speaker")
        else:
            decided.update(_by_content(open_, said))
    turns = [CallTurn(role=decided[p.speaker].role, start_ms=p.start_ms, end_ms=p.end_ms,
                      text=p.text) for p in pieces]
    report = RoleReport(speakers=tuple(decided[s] for s in said))
    return merge_turns(turns), report


__all__ = ["NO_HINTS", "Piece", "RoleHints", "RoleReport", "SpeakerRole", "channel_key",
           "channel_roles_from", "name_key", "resolve"]
