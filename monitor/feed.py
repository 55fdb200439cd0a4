"""An Atom feed of events, for feed readers."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from archive.timeutil import iso_seconds, parse_stored, utcnow
from monitor.events import Event

ATOM = "http://www.w3.org/2005/Atom"


def write_feed(path: Path, events: list[Event], title: str, feed_id: str) -> None:
    """Write the newest events as Atom, atomically (a reader never sees half a file)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    newest = max((e.detected_at for e in events), default=None)
    stamp = parse_stored(newest) if newest else utcnow()
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = iso_seconds(stamp)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "vigil"
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{feed_id}:event:{event.id}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{event.kind}: {event.url}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = iso_seconds(
            parse_stored(event.detected_at))
        ET.SubElement(entry, f"{{{ATOM}}}link", href=event.url)
        ET.SubElement(entry, f"{{{ATOM}}}category", term=event.kind)
        summary = event.summary + (f"\nCited link: {event.link}" if event.link else "")
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary
    tmp = path.with_name(path.name + ".tmp")
    ET.ElementTree(feed).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
