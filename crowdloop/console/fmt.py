"""How the console writes numbers, durations and times (also Jinja filters: `duration`, `number`,
`decimal`, `when`; registered by create_console, they write in the page's language, `lang`).

English keeps the console's compact forms ('2 min 5 s', '1 234 567', '2026-12-06 14:05 UTC'); another
language gets Babel's forms for it ('2분 5초', '1,234,567', '2026. 12. 6. 오후 2:05 UTC')."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2

from crowdloop.i18n import DEFAULT, Language

# The order the console shows loop statuses in, everywhere: the work still to do first.
LOOP_STATUSES = ("InProgress", "Completed", "Stopping", "Stopped", "Failed")


def _english(lang: Language | None) -> bool:
    return lang is None or lang.code == DEFAULT


def duration(seconds: float | None, lang: Language | None = None) -> str:
    """'—' for None; '45 s', '2 min 5 s', '3 h 20 min', '2 d 4 h' (two units at most)."""
    if seconds is None:
        return "—"
    if not _english(lang):
        assert lang is not None
        return lang.duration(seconds, narrow=True)
    total = round(seconds)
    if total < 60:
        return f"{max(total, 0)} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def number(value: int, lang: Language | None = None) -> str:
    """Thousands separated by a thin space: 1 234 567 (another language: its own grouping)."""
    if not _english(lang):
        assert lang is not None
        return lang.number(value)
    return f"{value:,}".replace(",", "\u202f")


def decimal(value: float | None, digits: int = 2, lang: Language | None = None) -> str:
    """'—' for None, else the value with `digits` decimals: 0.83."""
    if value is None:
        return "—"
    if not _english(lang):
        assert lang is not None
        return lang.decimal(value, digits)
    return f"{value:.{digits}f}"


def percent(part: int, whole: int) -> float | None:
    """part/whole in percent, one decimal, at most 100; None when whole is 0."""
    return None if whole <= 0 else min(100.0, round(100 * part / whole, 1))


def when(at: datetime, lang: Language | None = None, *, seconds: bool = False, zone: bool = True) -> str:
    """A UTC time as '2026-12-06 14:05 UTC' ('…:05:09 UTC' with seconds; no ' UTC' with zone=False, for a
    column whose heading says UTC)."""
    if not _english(lang):
        assert lang is not None
        return lang.datetime(at, seconds=seconds, zone=zone)
    text = f"{at:%Y-%m-%d %H:%M:%S}" if seconds else f"{at:%Y-%m-%d %H:%M}"
    return f"{text} UTC" if zone else text


def filters() -> dict[str, Any]:
    """The Jinja filters, writing in the page's language (the context's `lang`)."""

    @jinja2.pass_context
    def duration_filter(context: jinja2.runtime.Context, seconds: float | None) -> str:
        return duration(seconds, context.get("lang"))

    @jinja2.pass_context
    def number_filter(context: jinja2.runtime.Context, value: int) -> str:
        return number(value, context.get("lang"))

    @jinja2.pass_context
    def decimal_filter(context: jinja2.runtime.Context, value: float | None, digits: int = 2) -> str:
        return decimal(value, digits, context.get("lang"))

    @jinja2.pass_context
    def when_filter(context: jinja2.runtime.Context, at: datetime, seconds: bool = False, zone: bool = True) -> str:
        return when(at, context.get("lang"), seconds=seconds, zone=zone)

    return {"duration": duration_filter, "number": number_filter, "decimal": decimal_filter, "when": when_filter}
