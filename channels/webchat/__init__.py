"""The web chat channel: a citizen's browser (``/chat``) or any client speaking the frame
protocol over a WebSocket (``/channels/webchat/ws``) or HTTP long polling.

``protocol.py`` (pure) checks the citizen's frames and builds the server's; ``intake.py`` turns
an accepted message frame into the raw delivery the inbox stores; ``parse.py`` (pure) turns that
stored delivery into an ``InboundMessage``; ``capability.py`` declares what a reply can do.
The transport itself (sessions, the socket, the hub that pushes replies) is a driver,
``ticketing.entrypoints.webchat``: it needs the database, which a channel never touches.
"""

from channels.webchat.capability import CAPABILITY
from channels.webchat.parse import CONTENT_TYPE, parse_webchat

__all__ = ["CAPABILITY", "CONTENT_TYPE", "parse_webchat"]
