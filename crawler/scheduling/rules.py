"""Schedules: intervals (90s, 15m, 6h, 1d), cron expressions, jitter, quiet hours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DEFAULT_EVERY = 86400  # a day
MAX_EVERY = 3650 * 86400  # ten years: beyond that a schedule is a typo
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ScheduleError(ValueError):
    """An interval, cron expression or quiet-hours range that does not parse."""


def parse_interval(text: str) -> int:
    """``90s``, ``15m``, ``6h``, ``1d`` as seconds (at least one second)."""
    match = _INTERVAL.match(text)
    if not match or int(match.group(1)) == 0:
        raise ScheduleError(f"invalid interval {text!r}: use a number and s, m, h or d "
                            "(90s, 15m, 6h, 1d)")
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds > MAX_EVERY:
        raise ScheduleError(f"invalid interval {text!r}: at most 3650d")
    return seconds


def format_interval(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def cron_trigger(expression: str) -> CronTrigger:
    """A five-field crontab expression, in UTC."""
    trigger = _parsed(expression)
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ScheduleError(f"invalid cron expression {expression!r}: it never fires")
    return trigger


# Many sources share a schedule: each expression is parsed once per process.
@lru_cache(maxsize=256)
def _parsed(expression: str) -> CronTrigger:
    # Imported here: APScheduler is a twentieth of a second that only cron schedules need
    # (every `vigil sources` would pay it).
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except ValueError as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from exc


@dataclass(frozen=True)
class QuietHours:
    """A daily UTC window in which no capture starts, e.g. 22:00-06:00."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = _QUIET.match(text)
        if not match:
            raise ScheduleError(f"invalid quiet hours {text!r}: use HH:MM-HH:MM (UTC)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ScheduleError(f"invalid quiet hours {text!r}: use HH:MM-HH:MM (UTC)")
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: datetime) -> bool:
        now = moment.astimezone(UTC).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # the window spans midnight

    def after(self, moment: datetime) -> datetime:
        """``moment`` if outside the window, else the window's end."""
        if not self.contains(moment):
            return moment
        moment = moment.astimezone(UTC)
        end = moment.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                             microsecond=0)
        return end if end > moment else end + timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    every: int | None = DEFAULT_EVERY  # seconds, when not cron
    cron: str | None = None
    jitter: int = 0  # seconds of random delay
    quiet: QuietHours | None = None

    def next_after(self, last: datetime | None, now: datetime) -> datetime:
        """When the next capture is due (before jitter): a source never captured is due now."""
        if last is None:
            due = now
        elif self.cron:
            found = _parsed(self.cron).get_next_fire_time(None, last)
            due = found if found is not None else now
        else:
            due = last + timedelta(seconds=self.every or DEFAULT_EVERY)
        return self.quiet.after(due) if self.quiet else due
