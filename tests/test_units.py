"""Fast tests of the rules under the slow ones: schedules, quiet hours, alert claims, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.index import Capture
from crawler.app.evidence import choose_captures
from crawler.app.store import Store
from crawler.scheduling.rules import (
    QuietHours,
    Schedule,
    ScheduleError,
    cron_trigger,
    format_interval,
    parse_interval,
)
from monitor.alerts import Notifier
from monitor.events import Event, EventLog, Kind

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21_600),
                                                ("1d", 86_400), ("2D", 172_800)])
def test_an_interval_reads_as_seconds_and_is_written_back_the_same(text: str,
                                                                     seconds: int) -> None:
    assert parse_interval(text) == seconds
    assert parse_interval(format_interval(seconds)) == seconds


@pytest.mark.parametrize("bad", ["0s", "10", "5 minutes", "-1h", "3651d", ""])
def test_an_interval_that_is_not_a_positive_count_of_units_is_refused(bad: str) -> None:
    with pytest.raises(ScheduleError):
        parse_interval(bad)


def test_a_cron_expression_that_never_fires_or_does_not_parse_is_refused() -> None:
    cron_trigger("0 */6 * * *")
    for bad in ("0 0 31 2 *", "61 * * * *", "every day"):
        with pytest.raises(ScheduleError):
            cron_trigger(bad)


def test_quiet_hours_that_span_midnight_hold_both_sides_of_it() -> None:
    quiet = QuietHours.parse("22:00-06:00")
    assert str(quiet) == "22:00-06:00"
    assert quiet.contains(NOON.replace(hour=23))
    assert quiet.contains(NOON.replace(hour=5, minute=59))
    assert not quiet.contains(NOON.replace(hour=6))
    assert not quiet.contains(NOON)
    # A time inside the window waits for its end, on the next day if need be.
    assert quiet.after(NOON.replace(hour=23)) == (NOON + timedelta(days=1)).replace(hour=6)
    assert quiet.after(NOON.replace(hour=1)) == NOON.replace(hour=6)
    assert quiet.after(NOON) == NOON


@pytest.mark.parametrize("bad", ["22-06", "24:00-06:00", "22:60-06:00", "evening"])
def test_quiet_hours_that_are_not_two_times_of_day_are_refused(bad: str) -> None:
    with pytest.raises(ScheduleError):
        QuietHours.parse(bad)


def test_a_source_never_captured_is_due_now_and_then_every_interval() -> None:
    schedule = Schedule(every=3600)
    assert schedule.next_after(None, NOON) == NOON
    assert schedule.next_after(NOON, NOON) == NOON + timedelta(hours=1)


def test_a_capture_that_falls_in_quiet_hours_waits_for_their_end() -> None:
    schedule = Schedule(every=3600, quiet=QuietHours.parse("12:30-14:00"))
    assert schedule.next_after(NOON, NOON) == NOON.replace(hour=14)


def test_a_cron_schedule_is_due_at_its_next_fire_time_after_the_last_capture() -> None:
    schedule = Schedule(every=None, cron="0 */6 * * *")
    assert schedule.next_after(NOON.replace(minute=5), NOON) == NOON.replace(hour=18)


def _home_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "vigil.db")


def _event(store: Store) -> int:
    event = EventLog(store.db).add(Event(kind=Kind.EDITED, url="http://127.0.0.2/a/",
                                         summary="Edited"))
    assert event.id is not None
    return event.id


def test_two_notifiers_cannot_both_claim_one_delivery(tmp_path: Path) -> None:
    first, second = _home_store(tmp_path), _home_store(tmp_path)
    try:
        event_id = _event(first)
        ours = Notifier(first.db, [], tmp_path, "http://127.0.0.1:8080")
        theirs = Notifier(second.db, [], tmp_path, "http://127.0.0.1:8080")
        assert ours._claim(event_id, "mail")
        assert not theirs._claim(event_id, "mail")  # claimed by a live process
        assert not ours._claim(event_id, "mail")
        # Another channel's delivery of the same event is its own claim.
        assert theirs._claim(event_id, "hook")
    finally:
        first.close()
        second.close()


def test_a_delivered_event_is_never_claimed_again_and_a_failed_one_is(tmp_path: Path) -> None:
    store = _home_store(tmp_path)
    try:
        notifier = Notifier(store.db, [], tmp_path, "http://127.0.0.1:8080")
        delivered, failed = _event(store), _event(store)
        assert notifier._claim(delivered, "mail") and notifier._claim(failed, "mail")
        notifier._finish(delivered, "mail", None)
        notifier._finish(failed, "mail", "connection refused")
        assert not notifier._claim(delivered, "mail")
        assert notifier._claim(failed, "mail")
    finally:
        store.close()


def _capture(store: Store, url: str, moment: datetime, offset: int) -> None:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store.captures.add([Capture(url=url, timestamp=stamp, status=200,
                                content_type="text/html", digest="sha256:00",
                                payload_digest=None, warc="vigil-1.warc.gz", offset=offset,
                                length=10)])


def test_export_takes_the_captures_between_since_and_until_both_included(
        tmp_path: Path) -> None:
    store = _home_store(tmp_path)
    try:
        for n in range(4):
            _capture(store, "http://127.0.0.2/a/", NOON + timedelta(hours=n), offset=n * 10)
        def hours(since: datetime | None, until: datetime | None) -> list[int]:
            return [int((c.moment - NOON).total_seconds() // 3600)
                    for c in choose_captures(store, [], since, until)]
        assert hours(None, None) == [0, 1, 2, 3]
        assert hours(None, NOON + timedelta(hours=2)) == [0, 1, 2]
        assert hours(NOON + timedelta(hours=1), NOON + timedelta(hours=2)) == [1, 2]
        assert hours(NOON + timedelta(hours=4), None) == []
    finally:
        store.close()


def test_a_14_digit_time_names_the_capture_made_in_that_second(tmp_path: Path) -> None:
    # 10 ms before the second and 50 ms into it: the closest to hh:mm:01.000 is the first,
    # but /web/…01/ names the second.
    store = _home_store(tmp_path)
    try:
        second = NOON.replace(second=1)
        _capture(store, "http://127.0.0.2/a/", second - timedelta(milliseconds=10), offset=0)
        _capture(store, "http://127.0.0.2/a/", second + timedelta(milliseconds=50), offset=10)
        assert store.captures.closest("http://127.0.0.2/a/", second).moment.second == 0
        found = store.captures.in_second("http://127.0.0.2/a/", second)
        assert found is not None and found.moment == second + timedelta(milliseconds=50)
        assert store.captures.in_second("http://127.0.0.2/a/", NOON.replace(second=5)) is None
    finally:
        store.close()
