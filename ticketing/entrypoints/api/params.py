"""The API's checked parameter types and the JSON depth guard, from ``domain.bounds``: one
definition for every path, query and body that names a row, so no handler can forget it.

A path id out of range is answered 404 (``errors``: no such resource can exist); a cursor or a
body field out of range is 422.  A JSON body nested deeper than ``bounds.MAX_JSON_DEPTH`` is
refused with 422 before FastAPI parses it (``JsonLimitRoute``); ``POST /api/v1/inbound`` reads
its body itself and quarantines such a payload instead."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Request, Response
from fastapi.routing import APIRoute

from ticketing.domain import bounds
from ticketing.entrypoints.api.errors import ApiError

RowId = Annotated[int, Ge(1), Le(bounds.ID_MAX)]
"""A ticket, customer, message or notification id, or a keyset cursor (the last id seen)."""
AttachmentIndex = Annotated[int, Ge(0), Le(bounds.MAX_ATTACHMENT_INDEX)]

TOO_DEEP = f"JSON nested deeper than {bounds.MAX_JSON_DEPTH} levels"


def is_json(request: Request) -> bool:
    """As FastAPI decides: no content type, ``application/json`` or ``application/*+json``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not kind or kind == "application/json" or \
        (kind.startswith("application/") and kind.endswith("+json"))


class JsonLimitRoute(APIRoute):
    """A route whose JSON body is checked for depth before it is parsed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def guarded(request: Request) -> Response:
            if is_json(request) and bounds.json_too_deep(await request.body()):
                raise ApiError(422, "invalid_input", TOO_DEEP)
            return await handler(request)
        return guarded
