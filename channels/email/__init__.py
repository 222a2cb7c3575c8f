"""The email channel: raw RFC 5322 bytes from the SMTP listener → ``InboundMessage``.

``parse_email`` (``parse.py``) is pure; ``split_reply`` (``reply.py``) separates the citizen's new
text from quoted history and signatures; ``automated.py`` recognises mail that must never be
answered; ``html.py`` turns HTML bodies into text.
"""

from channels.email.parse import parse_email
from channels.email.reply import split_reply

__all__ = ["parse_email", "split_reply"]
