"""The phone channel: call-transcript files (plain text, WebVTT, SRT, AWS Transcribe JSON,
Contact Lens JSON) → ``InboundMessage``.

``read_transcript`` / ``parse_transcript`` (``parse.py``) are pure; the formats live in
``cues.py`` (timed text) and ``vendor.py`` (vendor JSON); ``call.py`` holds the call's turns and
metadata.  The transports (CLI ``ticketing ingest transcript``) store the untouched file bytes in
the inbox under ``CONTENT_TYPE`` first; workers parse them.
"""

from channels.phone.parse import CONTENT_TYPE, parse_transcript, read_transcript

__all__ = ["CONTENT_TYPE", "parse_transcript", "read_transcript"]
