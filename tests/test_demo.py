"""`vigil demo` runs the whole job offline: capture, a quiet edit and takedowns, alerts."""

from __future__ import annotations

from conftest import Vigil


def test_the_demo_captures_the_replica_and_reports_what_changed(vigil: Vigil) -> None:
    result = vigil.run("demo")
    assert b"3 change(s) detected" in result.stderr
    events = vigil.json("changes")
    assert sorted(e["kind"] for e in events) == ["dead_link", "edited", "removed"]
    sources = {s["name"]: s for s in vigil.json("sources")}
    assert set(sources) == {"riverside-herald", "riverside-herald-live"}
    source = sources["riverside-herald"]
    assert [c["found_by"] for c in vigil.json("history", source["url"])] == ["seed", "seed"]
    assert b"[-denied-]" in vigil.run("diff", source["url"]).stdout
    # The article written by script was rendered, with a screenshot beside it.
    shot = vigil.home / "live.png"
    vigil.run("get", sources["riverside-herald-live"]["url"], "--screenshot", "-o", str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
