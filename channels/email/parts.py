"""Cached reads of a parsed MIME part's ``Content-Type`` and parameters.

The stdlib's ``Message.get_content_type()`` and ``get_param()`` scan every header and re-parse the
header value on each call; the walk asks the same part the same questions several times (its
type, main type, subtype, boundary, charset, name), which was a tenth of a typical mail's parse
time.  These give exactly the stdlib's answers, computed once per part and kept on the part
(parts are never edited after parsing: a repair builds new ``Message`` objects).  Pure.
"""

from __future__ import annotations

from email.message import Message
from typing import Any, Final

_KEY: Final = "_ticketing_cache"
_MISSING: Final = object()


def _cache(part: Message) -> dict[Any, Any]:
    store = vars(part)
    found = store.get(_KEY)
    if found is None:
        found = store[_KEY] = {}
    return found


def ctype_of(part: Message) -> str:
    """``part.get_content_type()``, once per part."""
    cache = _cache(part)
    found = cache.get("ctype")
    if found is None:
        found = cache["ctype"] = part.get_content_type()
    return str(found)


def header_of(part: Message, name: str, failobj: Any = None) -> Any:
    """``part.get(name, failobj)``, once per part and header name."""
    cache = _cache(part)
    key = ("header", name)
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        found = cache[key] = part.get(name, _MISSING)
    return failobj if found is _MISSING else found


def maintype_of(part: Message) -> str:
    """``part.get_content_maintype()``."""
    return ctype_of(part).split("/")[0]


def subtype_of(part: Message) -> str:
    """``part.get_content_subtype()``."""
    return ctype_of(part).split("/")[1]


def param_of(part: Message, name: str, failobj: Any = None, header: str = "content-type") -> Any:
    """``part.get_param(name, failobj, header=header)``: the header's parameters are parsed once
    (``get_params``, unquoted as ``get_param`` unquotes) and looked up case-insensitively."""
    cache = _cache(part)
    key = ("params", header)
    params = cache.get(key, _MISSING)
    if params is _MISSING:
        params = cache[key] = part.get_params(None, header)
    if params is None:
        return failobj
    wanted = name.lower()
    for key_name, value in params:
        if key_name.lower() == wanted:
            return value
    return failobj
