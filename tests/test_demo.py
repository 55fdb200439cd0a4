"""`vigil demo` runs the whole job offline: capture, a quiet edit and takedowns, alerts."""

from __future__ import annotations

from conftest import Vigil


def test_the_demo_captures_the_replica_and_reports_what_changed(vigil: Vigil) -> None:
    result = vigil.run("demo")
    assert b"3 change(s) detected" in result.stderr
    events = vigil.json("changes")
    assert sorted(e["kind"] for e in events) == ["dead_link", "edited", "removed"]
    [source] = vigil.json("sources")
    assert [c["found_by"] for c in vigil.json("history", source["url"])] == ["seed", "seed"]
    assert b"[-denied-]" in vigil.run("diff", source["url"]).stdout
