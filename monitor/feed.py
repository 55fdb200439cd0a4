"""An Atom feed of events, for feed readers: each entry links to its review page."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from archive.timeutil import iso_seconds, parse_stored, utcnow
from monitor.alert_message import review_link
from monitor.events import Event

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 200


def feed_xml(events: list[Event], title: str, feed_id: str, server: str,
             titles: Mapping[int, str] | None = None) -> bytes:
    """The newest events as an Atom document; ``server`` is the base of the review pages."""
    ET.register_namespace("", ATOM)
    headlines = titles or {}
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                  href=f"{server.rstrip('/')}/changes")
    newest = max((e.detected_at for e in events), default=None)
    stamp = parse_stored(newest) if newest else utcnow()
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = iso_seconds(stamp)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "vigil"
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{feed_id}:event:{event.id}"
        headline = headlines.get(event.id or -1) or event.url
        ET.SubElement(entry, f"{{{ATOM}}}title").text = \
            f"{event.kind.replace('_', ' ')}: {headline}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = iso_seconds(
            parse_stored(event.detected_at))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                      href=review_link(server, event.id))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=event.url)
        ET.SubElement(entry, f"{{{ATOM}}}category", term=event.kind)
        summary = event.summary + (f"\nCited link: {event.link}" if event.link else "")
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def write_feed(path: Path, document: bytes) -> None:
    """Write the feed atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(document)
    os.replace(tmp, path)
