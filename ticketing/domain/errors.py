"""The documented error hierarchy.  Each boundary translates foreign errors into these
(``raise ... from exc``); nothing here is swallowed silently."""

from __future__ import annotations


class TicketingError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"


class NotFound(TicketingError):
    code = "not_found"


class Conflict(TicketingError):
    code = "conflict"


class InvalidInput(TicketingError):
    code = "invalid_input"


class PermissionDenied(TicketingError):
    code = "forbidden"


class ChannelError(TicketingError):
    code = "channel_error"


class MalformedPayload(ChannelError):
    """Input that cannot be understood; it is quarantined with this message as the reason."""

    code = "malformed_payload"


class RateLimited(ChannelError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PartlySent(ChannelError):
    """Not an error: a delivery the channel sends as several messages (a long text split, then
    its attachments) sent ``done`` of them, the last answered with ``external_id``; the rest
    must wait for their own pace slots.  The outbox keeps the progress on the row and puts it
    back due ``after`` seconds from now (the per-recipient gap), so the worker is not held."""

    code = "partly_sent"

    def __init__(self, *, done: int, external_id: str, after: float) -> None:
        super().__init__(f"{done} message(s) sent, more to follow")
        self.done, self.external_id, self.after = done, external_id, after


class ChannelUnavailable(ChannelError):
    code = "channel_unavailable"


class RecipientRejected(ChannelError):
    """The provider refused the message for good.  ``unreachable``: the citizen cannot be
    reached at this address any more (blocked the bot, left, not reachable): the address is
    marked so, and replies there are refused until the citizen writes from it again."""

    code = "recipient_rejected"

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class TooLarge(ChannelError):
    """A file over the size limit (an attachment a channel only referenced)."""

    code = "too_large"


class LoginThrottled(TicketingError):
    """A sign-in refused before the password is looked at: too many failures lately
    (``retry_after`` seconds to wait) or the account is locked (``locked``) until a supervisor
    or admin unlocks it."""

    code = "login_throttled"

    def __init__(self, message: str, *, retry_after: int = 0, locked: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.locked = locked


class ReplyRefused(Conflict):
    """A reply the chosen channel cannot deliver now, refused before it is queued; ``options``
    are the ways the citizen can be answered (channel, possible, reason)."""

    code = "channel_unavailable"

    def __init__(self, message: str, *, options: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.options = options
