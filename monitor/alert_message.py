"""An alert as an editor reads it: the headline, the paragraphs before and after, the link."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from archive.timeutil import iso_seconds, parse_stored
from monitor.change_view import ChangeView
from monitor.diffview import ADDED, REMOVED
from monitor.events import Kind

# Quoted in full up to this many changed paragraphs; the review page has the rest.
QUOTED_PARAGRAPHS = 3
DEFAULT_SERVER = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str
    data: dict[str, Any]  # what a webhook carries besides the text: the event, the link


def review_link(server: str, event_id: int | None) -> str:
    return f"{server.rstrip('/')}/changes/{event_id}"


def timeline_link(server: str, url: str) -> str:
    return f"{server.rstrip('/')}/web/*/{url}"


def _facts(view: ChangeView) -> list[tuple[str, str]]:
    event = view.event
    facts = [("Page", event.url)]
    if event.link:
        facts.append(("Cited link", event.link))
    if event.kind == Kind.MOVED and event.details.get("new_url"):
        facts.append(("New URL", str(event.details["new_url"])))
    if view.source is not None:
        facts.append(("Source", f"{view.source['name']} ({view.source['url']})"))
    when = [f"{label} {iso_seconds(parse_stored(value))}" for label, value in
            (("before", event.before), ("after", event.after)) if value]
    if when:
        facts.append(("Captures", ", ".join(when)))
    facts.append(("Detected", iso_seconds(parse_stored(event.detected_at))))
    return facts


def compose(view: ChangeView, server: str) -> Message:
    event = view.event
    kind = event.kind.replace("_", " ")
    title = f"[vigil] {kind}: {view.title}"
    link = review_link(server, event.id)
    history = timeline_link(server, event.link or event.url)
    quoted = view.changed[:QUOTED_PARAGRAPHS]
    more = len(view.changed) - len(quoted)

    text = [event.summary, ""]
    if view.title != event.url:
        text.append(f"Headline: {view.title}")
    text += [f"{label}: {value}" for label, value in _facts(view)]
    if view.title_change is not None:
        text += ["", f"Title: {view.title_change.text()}"]
    for paragraph in quoted:
        text += ["", "Before:", f"  {paragraph.side(REMOVED) or '(not there)'}",
                 "After:", f"  {paragraph.side(ADDED) or '(taken out)'}"]
    if more:
        text += ["", f"… and {more} more changed paragraph{'s' if more > 1 else ''}."]
    text += ["", f"Review the change: {link}", f"The page's history: {history}"]

    # One fact a line: mail clients show the text part apprise derives from this HTML,
    # and it keeps a line for each <br> and <p>.
    facts = "<br>".join(f"<b>{escape(label)}:</b> {_linked(value)}"
                        for label, value in _facts(view))
    html = [f"<h2 style='margin:0 0 .4em'>{escape(view.title)}</h2>",
            f"<p><b>{escape(event.summary)}</b></p>", f"<p>{facts}</p>"]
    if view.title_change is not None:
        html.append(f"<p><b>Title</b>: {_styled(view.title_change.html())}</p>")
    quote = "margin:.4em 0;padding:.2em .8em;border-left:3px solid {}"
    for paragraph in quoted:
        html.append(f"<p><b>Before:</b></p><p style='{quote.format('#c33')}'>"
                    f"{_styled(paragraph.html_side(REMOVED)) or '<i>(not there)</i>'}</p>"
                    f"<p><b>After:</b></p><p style='{quote.format('#393')}'>"
                    f"{_styled(paragraph.html_side(ADDED)) or '<i>(taken out)</i>'}</p>")
    if more:
        html.append(f"<p>… and {more} more changed paragraph{'s' if more > 1 else ''}.</p>")
    html.append(f"<p><b>Review the change:</b> <a href='{escape(link)}'>{escape(link)}</a><br>"
                f"The page's history: <a href='{escape(history)}'>{escape(history)}</a></p>")
    return Message(title=title, text="\n".join(text), html="\n".join(html),
                   data={"event": event.public(), "link": link})


def _linked(value: str) -> str:
    if value.startswith(("http://", "https://")) and " " not in value:
        return f"<a href='{escape(value)}'>{escape(value)}</a>"
    return escape(value)


def _styled(marked: str) -> str:
    """Inline colours: mail clients drop stylesheets."""
    return (marked.replace("<del>", "<del style='background:#fdd;color:#900'>")
            .replace("<ins>", "<ins style='background:#dfd;color:#060'>"))


def test_message(server: str, home_name: str, channel: str) -> Message:
    title = f"[vigil] test: alerts from {home_name} reach {channel}"
    text = (f"This is a test message from vigil to the channel {channel!r}.\n"
            f"Changes are listed at {server.rstrip('/')}/changes")
    html = (f"<p>This is a test message from vigil to the channel <b>{escape(channel)}</b>."
            f"</p><p>Changes are listed at <a href='{escape(server)}/changes'>"
            f"{escape(server.rstrip('/'))}/changes</a></p>")
    return Message(title=title, text=text, html=html, data={"test": True})
