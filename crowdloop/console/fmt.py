"""How the console writes numbers, durations and times (also Jinja filters: `duration`, `number`,
`decimal`, `when`; registered by create_console)."""

from __future__ import annotations

from datetime import datetime

# The order the console shows loop statuses in, everywhere: the work still to do first.
LOOP_STATUSES = ("InProgress", "Completed", "Stopping", "Stopped", "Failed")


def duration(seconds: float | None) -> str:
    """'—' for None; '45 s', '2 min 5 s', '3 h 20 min', '2 d 4 h' (two units at most)."""
    if seconds is None:
        return "—"
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


def number(value: int) -> str:
    """Thousands separated by a thin space: 1 234 567."""
    return f"{value:,}".replace(",", "\u202f")


def decimal(value: float | None, digits: int = 2) -> str:
    """'—' for None, else the value with `digits` decimals: 0.83."""
    return "—" if value is None else f"{value:.{digits}f}"


def percent(part: int, whole: int) -> float | None:
    """part/whole in percent, one decimal, at most 100; None when whole is 0."""
    return None if whole <= 0 else min(100.0, round(100 * part / whole, 1))


def when(at: datetime) -> str:
    """A UTC time as '2026-12-06 14:05 UTC'."""
    return f"{at:%Y-%m-%d %H:%M} UTC"
