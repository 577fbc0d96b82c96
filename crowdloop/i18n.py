"""Languages of the worker portal, the requester console and the crowd elements' own texts.

* Server-side messages: gettext catalogs, crowdloop/locale/<code>/LC_MESSAGES/messages.po (msgids are the
  English texts), compiled in memory from the .po on first use (no build step, nothing to keep in step).
  Python code marks messages with `N_()` where they are written (extraction only) and translates them with a
  `Language` where they are shown; templates use `{% trans %}` / `_()` (jinja2.ext.i18n, new-style).
* The JavaScript catalog: crowdloop/locale/<code>/crowd.json, one object {key: text} per language, read by
  `CL.t(key, params)` in the task frame (English is built into the crowd elements bundle, the chosen
  language's object is put into the frame document) and by portal.js on the task page.
* Which language: the preference cookie (COOKIE, set by the switcher) when it names one of LANGUAGES, else the
  best match of the Accept-Language header, else English (`choose`).
* Dates, numbers and durations are written with Babel for the chosen language (`Language.number` ...).

docs/portal.md "Languages" says how to add a language; tests/domain/test_i18n_catalogs.py fails when a catalog
misses a message.
"""

from __future__ import annotations

import datetime as dt
import gettext as gettext_module
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_skeleton, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}  # code -> its own name (the switcher's labels)
DEFAULT = "en"
COOKIE = "crowdloop_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
DOMAIN = "messages"
_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*")


def N_(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where it is shown."""
    return message


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 dropped; ties keep their order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "")[:2000].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.fullmatch(tag):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


@lru_cache(maxsize=512)  # a pure function of the header: browsers send a handful of different ones
def negotiate(header: str | None) -> str | None:
    """The language of LANGUAGES that best matches an Accept-Language header (ko-KR -> ko), or None."""
    wanted = [tag.replace("_", "-") for tag in parse_accept_language(header)]
    for tag in wanted:
        if tag == "*":
            return DEFAULT
        try:
            found = Locale.negotiate([tag], list(LANGUAGES), sep="-")
        except (ValueError, UnknownLocaleError):
            found = None
        if found is not None:
            return str(found.language)
    return None


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The request's language: the switcher's cookie, else Accept-Language, else DEFAULT."""
    if cookie in LANGUAGES:
        return str(cookie)
    return negotiate(accept_language) or DEFAULT


def _locale_folder() -> Any:
    return resources.files("crowdloop").joinpath("locale")


@cache
def translations(code: str) -> gettext_module.NullTranslations:
    """The compiled gettext catalog of a language (its messages.po, compiled once per process)."""
    po = _locale_folder().joinpath(code, "LC_MESSAGES", f"{DOMAIN}.po")
    if code not in LANGUAGES or not po.is_file():
        return gettext_module.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


@cache
def js_messages(code: str) -> dict[str, str]:
    """The JavaScript catalog of a language ({} for an unknown one)."""
    path = _locale_folder().joinpath(code, "crowd.json")
    if code not in LANGUAGES or not path.is_file():
        return {}
    messages = json.loads(path.read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in messages.items()}


@cache
def js_messages_script(code: str, prefix: str = "") -> str:
    """The JSON data block that hands a language's JavaScript catalog (its keys starting with `prefix`) to a
    page or task frame: `CL.t` and portal.js read it. A data block is not run, so the pages' and frames'
    Content-Security-Policy needs no source for it; '<' is escaped, so no text in it can end the element."""
    messages = {key: text for key, text in js_messages(code).items() if key.startswith(prefix)}
    body = json.dumps(messages, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    return f'<script type="application/json" id="crowdloop-messages">{body}</script>'


@dataclass(frozen=True)
class Language:
    """One language as pages use it: messages, and dates / numbers / durations written its way."""

    code: str

    @classmethod
    def of(cls, code: str | None) -> Language:
        return cls(code if code in LANGUAGES else DEFAULT)

    @property
    def name(self) -> str:
        return LANGUAGES[self.code]

    @property
    def _t(self) -> gettext_module.NullTranslations:
        return translations(self.code)

    def gettext(self, message: str, **params: Any) -> str:
        """The translation of `message`, its {name} fields filled from params ("" stays "": gettext would
        answer the catalog's header)."""
        if not message:
            return message
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """The form for n (n is also the {n} field, written with number())."""
        return self._t.ngettext(singular, plural, n).format(n=self.number(n), **params)

    def number(self, value: float) -> str:
        """1234567 -> '1,234,567' (the language's grouping)."""
        return format_decimal(value, locale=self.code)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        """'—' for None, else `digits` decimals: 0.83."""
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0", locale=self.code)

    def datetime(self, at: dt.datetime, *, seconds: bool = False, zone: bool = True) -> str:
        """A UTC time to the minute (or second): 'Dec 6, 2026, 2:05 PM UTC' / '2026. 12. 6. 오후 2:05 UTC'
        (zone=False: without ' UTC', for a column that says it)."""
        pattern = _minute_pattern(self.code, seconds)
        text = format_datetime(at, format=pattern, tzinfo=UTC, locale=self.code)
        return f"{text} UTC" if zone else text

    def day(self, at: dt.datetime) -> str:
        """A day, short: 'Sun 06 Dec' / '12월 6일 (일)'."""
        if self.code == DEFAULT:
            return f"{at:%a %d %b}"
        return format_skeleton("MMMEd", at, locale=self.code)

    def duration(self, seconds: float, *, units: int = 2, narrow: bool = False) -> str:
        """600 -> '10 minutes' / '10분'; 5400 -> '1 hour, 30 minutes' / '1시간 30분': the largest unit and the
        next ones, at most `units` of them, zeros left out (narrow: '1h 30m')."""
        total = max(0, round(seconds))
        sizes: tuple[tuple[_Unit, int], ...] = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
        first = next((i for i, (_, size) in enumerate(sizes) if total >= size), len(sizes) - 1)
        parts: list[str] = []
        for unit, size in sizes[first : first + units]:
            count, total = divmod(total, size)
            if count or not parts:
                parts.append(_unit(self.code, count, unit, narrow))
        return format_list(parts, style="unit-narrow" if narrow else "unit", locale=self.code)


@cache
def _minute_pattern(code: str, seconds: bool = False) -> str:
    """The language's medium date with its short time (medium: with seconds)."""
    locale = Locale.parse(code)
    date = locale.date_formats["medium"].pattern
    time = locale.time_formats["medium" if seconds else "short"].pattern
    return str(locale.datetime_formats["medium"]).replace("{1}", date).replace("{0}", time)


_Unit = Literal["day", "hour", "minute", "second"]
_SECONDS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}


def _unit(code: str, count: int, unit: _Unit, narrow: bool) -> str:
    return format_timedelta(
        timedelta(seconds=count * _SECONDS[unit]),
        threshold=1e9,  # never a larger unit than `unit`
        granularity=unit,
        format="narrow" if narrow else "long",
        locale=code,
    )
