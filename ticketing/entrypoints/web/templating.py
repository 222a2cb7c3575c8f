"""Jinja2 templates (package files under ``templates/``, autoescaped) and their translations.

Indonesian is the source language of the templates; English comes from the gettext catalogue
``locale/en/LC_MESSAGES/messages.po``, compiled in memory the first time it is needed (no
``.mo`` file and no manual compile step: a clean ``pip install -e .`` finds it).  One
environment per language, built once, so a render never switches a shared environment's
language under another thread.  The viewer picks the language with the ``lang`` cookie
(``/lang?to=en``); anything else is Indonesian."""

from __future__ import annotations

import datetime as dt
import gettext
from functools import lru_cache
from importlib.resources import files
from io import BytesIO
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request
from jinja2 import Environment, PackageLoader, ChainableUndefined, select_autoescape

from ticketing.domain.zones import WIB

LANGS = ("id", "en")
DEFAULT_LANG = "id"
LANG_COOKIE = "lang"
PACKAGE = "ticketing.entrypoints.web"


def N_(message: str) -> str:
    """Marks a string for extraction (``pybabel extract -k N_``); translated where shown."""
    return message


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANG:
        return gettext.NullTranslations()
    source = files(PACKAGE).joinpath("locale", lang, "LC_MESSAGES", "messages.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _moment(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _when_filter(lang: str) -> Any:
    def when(value: Any) -> str:
        """A time for people: the viewer's locale format, in WIB."""
        moment = _moment(value)
        if moment is None:
            return "—" if value in (None, "") else str(value)
        return format_datetime(moment, "d MMM yyyy HH:mm", tzinfo=WIB, locale=lang) + " WIB"
    return when


def _day_filter(lang: str) -> Any:
    def day(value: Any) -> str:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return format_date(value, "d MMM yyyy", locale=lang)
        try:
            return format_date(dt.date.fromisoformat(str(value)[:10]), "d MMM yyyy", locale=lang)
        except ValueError:
            return str(value)
    return day


def _percent(value: Any) -> str:
    if value in (None, ""):
        return "—"
    return f"{float(value) * 100:.1f}%"


@lru_cache(maxsize=None)
def environment(lang: str) -> Environment:
    env = Environment(loader=PackageLoader(PACKAGE, "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
                      undefined=ChainableUndefined)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _when_filter(lang)
    env.filters["day"] = _day_filter(lang)
    env.filters["percent"] = _percent
    env.globals["lang"] = lang
    return env


def render(lang: str, name: str, **context: Any) -> str:
    return environment(lang).get_template(name).render(**context)


def gettext_for(lang: str) -> Any:
    return translations(lang).gettext
