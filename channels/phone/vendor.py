"""AWS Transcribe JSON (``results.items[]``): the untrusted JSON is checked here, once.

Quirks: times and confidences are *strings* of seconds; punctuation items carry no time and
belong to the word before them; speakers are ``spk_0``, ``spk_1`` ... (on the item, or only in
``speaker_labels.segments``; with channel identification ``ch_0`` ... in ``channel_labels``) with
no names and no roles.  Which one is the agent is ``roles.resolve``'s business: the
``agent_speaker`` the upload named, the configured channel → role mapping, else the content
(never the order: on real recordings the caller is often heard first).

Contact Lens and Call Analytics (turns with roles) are ``analytics``.
"""

from __future__ import annotations

from typing import Any

from channels.phone.call import CallMeta, Transcript
from channels.phone.roles import NO_HINTS, Piece, RoleHints, resolve
from ticketing.domain.errors import MalformedPayload

def is_aws(doc: dict[str, Any]) -> bool:
    results = doc.get("results")
    return isinstance(results, dict) and "items" in results


def _seconds_ms(value: Any, what: str) -> int:
    """A string of seconds ("12.345") → whole milliseconds.  ``float`` is the fast path (a
    one-hour call has 20,000 of them); what it accepts beyond decimals ("1e3", "1_0") is
    harmless, and anything not a finite time from 0 to 10⁹ s is refused."""
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be a string")
    try:
        seconds = float(value)
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not a number of seconds: {value[:20]!r}") from exc
    if not 0 <= seconds < 1e9:  # also NaN
        raise MalformedPayload(f"{what} is not a time: {value[:20]!r}")
    return round(seconds * 1000)


def _opt_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()[:200] or None


# --- AWS Transcribe --------------------------------------------------------------------------

def _speaker_by_start(results: dict[str, Any]) -> dict[str, str]:
    """start_time → speaker/channel label, from the segment lists (older output has no label on
    the items themselves)."""
    found: dict[str, str] = {}
    speakers, channel_labels = results.get("speaker_labels"), results.get("channel_labels")
    segments = (speakers.get("segments") if isinstance(speakers, dict) else None) or []
    channels = (channel_labels.get("channels") if isinstance(channel_labels, dict) else None) or []
    for group, key in ((segments, "speaker_label"), (channels, "channel_label")):
        if not isinstance(group, list):
            raise MalformedPayload("speaker_labels/channel_labels must hold lists")
        for seg in group:
            if not isinstance(seg, dict) or not isinstance(seg.get("items"), list):
                continue
            label = seg.get(key)
            for item in seg["items"]:
                if isinstance(item, dict) and isinstance(item.get("start_time"), str) \
                        and isinstance(label, str):
                    found.setdefault(item["start_time"], label)
    return found


_NO_LABEL = object()  # before the first word: differs from any label, None included


def _bad_item(number: int, item: Any) -> MalformedPayload:
    """The reason an item could not be read (the slow path, for the error only)."""
    if not isinstance(item, dict):
        return MalformedPayload(f"results.items[{number}] must be an object")
    alts = item.get("alternatives")
    if not isinstance(alts, list) or not alts or not isinstance(alts[0], dict):
        return MalformedPayload(f"results.items[{number}] has no alternatives")
    return MalformedPayload(f"results.items[{number}] content must be a string")


def parse_aws(doc: dict[str, Any], hints: RoleHints = NO_HINTS) -> Transcript:
    results = doc["results"]
    items = results.get("items")
    if not isinstance(items, list):
        raise MalformedPayload("results.items must be a list")
    by_start: dict[str, str] | None = None  # built only when an item has no label of its own
    # One speaker's consecutive words: [label, start, end time as written, words].  Only a
    # run's first start and last end are read as times (a one-hour call has 9,000 words and
    # a few hundred runs); a time that is not one is refused where it is read.
    runs: list[list[Any]] = []
    words: list[str] = []
    label: Any = _NO_LABEL
    run: list[Any] = []
    for number, item in enumerate(items, 1):
        try:
            content = item["alternatives"][0]["content"]
            kind = item.get("type")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _bad_item(number, item) from exc
        if content.__class__ is not str:
            raise _bad_item(number, item)
        if kind == "punctuation":
            if words:  # punctuation has no time: it closes the word before it
                words[-1] += content
            continue
        said = item.get("speaker_label") or item.get("channel_label")
        if said is None:
            if by_start is None:
                by_start = _speaker_by_start(results)
            said = by_start.get(str(item.get("start_time")))
        if said != label:
            if said.__class__ is not str:
                raise MalformedPayload(f"results.items[{number}] has no speaker label (the job "
                                       "ran without speaker or channel identification)")
            if runs:
                run[2] = _seconds_ms(run[2], f"results.items[{run[4]}].end_time")
            label, words = said, []
            run = [said, _seconds_ms(item.get("start_time"), f"results.items[{number}].start_time"),
                   None, words, number]
            runs.append(run)
        run[2], run[4] = item.get("end_time"), number
        words.append(content)
    if runs:
        run[2] = _seconds_ms(run[2], f"results.items[{run[4]}].end_time")
    if not runs:
        raise MalformedPayload("AWS Transcribe result has no words")
    pieces = [Piece(label[:200], start, end, " ".join(said_words))
              for label, start, end, said_words, _ in runs]
    turns, report = resolve(pieces, hints)
    language = results.get("language_code") or doc.get("languageCode")
    return Transcript(format="aws-transcribe", turns=turns, roles=report,
                      meta=CallMeta(call_id=_opt_text(doc.get("jobName")),
                                    language=_opt_text(language)))
