"""The desk's pages of changes: the filtered list, and the review page of one change."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from archive.index import Capture
from crawler.web.desk_auth import Visit
from crawler.web.desk_layout import kind_badge, link, memento_href, timeline_href, when
from monitor.alerts import Delivery, DeliveryState
from monitor.change_view import ChangeView
from monitor.diffview import Paragraph, folded
from monitor.events import KINDS, Event, Kind
from monitor.reviews import Review, Significance


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str) -> str:
    items = "".join(f"<option value='{escape(v)}'{' selected' if v == chosen else ''}>"
                    f"{escape(text)}</option>" for v, text in options)
    return f"<label>{label}<select name='{name}'>{items}</select></label>"


def changes_page(events: list[Event], titles: Mapping[int, str], reviewed: set[int],
                 source_names: Mapping[int, str], asked: Mapping[str, str],
                 problem: str | None) -> str:
    kinds = [("", "Any kind"), *((k, k.replace("_", " ")) for k in KINDS)]
    names = sorted(set(source_names.values()))
    form = ("<form class='filters card' method='get' action='/changes' role='search'>"
            + _select("kind", "Kind", kinds, asked.get("kind", ""))
            + _select("source", "Source", [("", "Any source"), *((n, n) for n in names)],
                      asked.get("source", ""))
            + f"<label>Page URL<input type='text' name='url' inputmode='url' "
              f"value='{escape(asked.get('url', ''))}' placeholder='https://…'></label>"
            + f"<label>Since<input type='text' name='since' value="
              f"'{escape(asked.get('since', ''))}' placeholder='2026-03-14'></label>"
            + "<button class='primary' type='submit'>Filter</button>"
            + ("<a href='/changes'>Clear</a>" if any(asked.values()) else "") + "</form>")
    parts = ["<h1>Changes</h1>",
             f"<p class='lede'>{len(events)} change{'' if len(events) == 1 else 's'}"
             f"{' matching' if any(asked.values()) else ''}, newest first · "
             f"<a href='/api/changes{_query(asked)}'>JSON</a> · "
             f"<a href='/feed.atom'>Atom feed</a></p>", form]
    if problem:
        parts.append(f"<p class='error' role='alert'>{escape(problem)}</p>")
    elif not events:
        parts.append("<p class='card'>No changes match. The monitor records one when a page "
                     "is edited, removed or moved, or a link it cites dies.</p>")
    items = []
    for event in events:
        assert event.id is not None
        title = titles.get(event.id) or event.url
        source = source_names.get(event.source_id or -1)
        mark = " <span class='badge reviewed'>reviewed</span>" if event.id in reviewed else ""
        items.append(
            f"<li class='{escape(event.kind)}'>{kind_badge(event.kind)}{mark} "
            f"<a class='title' href='/changes/{event.id}'>{escape(title)}</a>"
            f"<div class='meta'>#{event.id} · {when(event.detected_at)}"
            f"{' · ' + escape(source) if source else ''} · {escape(event.url)}</div>"
            f"<p class='summary'>{escape(event.summary)}</p></li>")
    if items:
        parts.append(f"<ol class='changes'>{''.join(items)}</ol>")
    return "".join(parts)


def _query(asked: Mapping[str, str]) -> str:
    given = {k: v for k, v in asked.items() if v}
    return "?" + urlencode(given) if given else ""


def _capture_line(label: str, capture: Capture | None) -> str:
    if capture is None:
        return ""
    extra = " (revisit: same payload)" if capture.revisit else ""
    return (f"<dt>{label}</dt><dd>{when(capture.timestamp)} · HTTP {capture.status}{extra} · "
            f"{link(memento_href(capture), 'memento')}</dd>")


def _frame(label: str, capture: Capture) -> str:
    href = memento_href(capture)
    return (f"<figure><figcaption><span><b>{label}</b> · {when(capture.timestamp)}</span>"
            f"{link(href, 'Open this memento')}</figcaption>"
            f"<iframe src='{escape(href)}' title='{label}: the page as captured "
            f"{escape(capture.timestamp[:19])}' referrerpolicy='no-referrer'></iframe></figure>")


def _diff(paragraphs: list[Paragraph]) -> str:
    out = []
    for item in folded(paragraphs):
        if isinstance(item, Paragraph):
            out.append(f"<p class='changed'>{item.html()}</p>")
        else:
            count = len(item)
            inner = "".join(f"<p>{p.html()}</p>" for p in item)
            out.append(f"<details class='fold'><summary>{count} unchanged "
                       f"paragraph{'' if count == 1 else 's'}</summary>{inner}</details>")
    return "".join(out)


def _kind_section(view: ChangeView) -> str:
    event, before = view.event, view.before
    reason = str(event.details.get("reason") or "")
    if event.kind == Kind.EDITED:
        parts = ["<section aria-labelledby='what'><h2 id='what'>What changed</h2>"]
        if view.title_change is not None:
            parts.append(f"<p class='card'><b>Headline:</b> {view.title_change.html()}</p>")
        if view.paragraphs:
            changed = len(view.changed)
            parts.append(f"<p class='meta'>{changed} paragraph{'' if changed == 1 else 's'} "
                         "changed; unchanged paragraphs are folded (open them to read the "
                         "whole article). Removed words are struck through, added words "
                         "underlined.</p>")
            parts.append(f"<div class='diff card'>{_diff(view.paragraphs)}</div>")
        elif "digest_before" in event.details:
            parts.append(f"<p class='card'>The file changed: {escape(event.summary)}</p>")
        parts.append("</section>")
        return "".join(parts)
    if event.kind == Kind.REMOVED:
        good = link(memento_href(before), f"the page as captured {before.timestamp[:19]}Z") \
            if before else "none archived"
        return (f"<section class='card'><h2>How it was removed</h2><p>{escape(reason)}</p>"
                f"<p><b>Last good memento:</b> {good}</p></section>")
    if event.kind == Kind.DEAD_LINK:
        good = link(memento_href(before), f"the cited page as captured "
                    f"{before.timestamp[:19]}Z") if before else "none archived"
        return (f"<section class='card'><h2>The dead link</h2><dl class='facts'>"
                f"<dt>Cited URL</dt><dd>{escape(event.link or '')}</dd>"
                f"<dt>Failure</dt><dd>{escape(reason)}</dd>"
                f"<dt>Last archived memento</dt><dd>{good}</dd>"
                f"<dt>Cited by</dt><dd>{link(timeline_href(event.url), event.url)}</dd>"
                f"</dl></section>")
    if event.kind == Kind.MOVED:
        new_url = str(event.details.get("new_url") or "")
        return (f"<section class='card'><h2>Where it went</h2><p><b>New URL:</b> "
                f"{link(new_url, new_url)} · {link(timeline_href(new_url), 'its history')}"
                f"</p></section>")
    return f"<section class='card'><p>{escape(reason or event.summary)}</p></section>"


def _frames(view: ChangeView, screenshots: Mapping[int, int]) -> str:
    event, before, after = view.event, view.before, view.after
    if event.kind == Kind.DEAD_LINK:
        return (f"<h2>The cited page as last archived</h2><div class='frames one'>"
                f"{_frame('Last archived', before)}</div>") if before else ""
    shown = [(label, c) for label, c in (("Before", before), ("After", after)) if c]
    if not shown:
        return ""
    if event.kind == Kind.REMOVED and before:
        shown = [("Last good", before), *([("Now", after)] if after else [])]
    frames = "".join(_frame(label, capture) for label, capture in shown)
    shots = [(label, screenshots.get(c.crawl_id)) for label, c in shown
             if c.crawl_id is not None and screenshots.get(c.crawl_id)]
    pictures = "".join(
        f"<figure><figcaption><b>{label}</b><span>as the browser drew it</span></figcaption>"
        f"<a href='/screenshots/{shot}.png'><img src='/screenshots/{shot}.png' "
        f"alt='{label}: the screenshot of the rendered page' loading='lazy'></a></figure>"
        for label, shot in shots)
    screenshots_html = (f"<h3>Screenshots</h3><div class='frames shots'>{pictures}</div>"
                        if pictures else "")
    return (f"<section aria-labelledby='both'><h2 id='both'>Both captures, side by side</h2>"
            f"<div class='frames'>{frames}</div>{screenshots_html}</section>")


def _review_box(event_id: int, review: Review | None, visit: Visit) -> str:
    if review is not None:
        level = f" · significance: <b>{escape(review.significance)}</b>" \
            if review.significance else ""
        note = f"<p>{escape(review.note)}</p>" if review.note else ""
        state = f"<p><span class='badge reviewed'>reviewed</span> {when(review.reviewed_at)}" \
                f"{level}</p>{note}"
    else:
        state = "<p>Not reviewed yet.</p>"
    if not visit.signed_in:
        hint = f"<a href='/signin?next=/changes/{event_id}'>Sign in</a> to mark it reviewed." \
            if visit.writable else "Start vigil serve with VIGIL_SERVE_TOKEN to review here."
        return (f"<section class='card' aria-label='Review'>{state[:-4]} "
                f"<span class='meta'>{hint}</span></p></section>")
    levels = [("", "—"), *((s.value, s.value) for s in Significance)]
    chosen = review.significance.value if review and review.significance else ""
    form = (f"<form class='inline' method='post' action='/changes/{event_id}/review'>"
            f"<input type='hidden' name='csrf' value='{visit.csrf}'>"
            "<input type='hidden' name='reviewed' value='1'>"
            + _select("significance", "Significance", levels, chosen).replace(
                "<label>", "<label class='meta'>")
            + f"<label class='meta'>Note<textarea name='note' rows='2'>"
              f"{escape(review.note or '') if review else ''}</textarea></label>"
            + "<button class='primary' type='submit'>Mark reviewed</button></form>")
    return f"<section class='card' aria-label='Review'>{state}{form}</section>"


def _deliveries(found: list[Delivery]) -> str:
    if not found:
        return ""
    rows = []
    for d in found:
        shown = d.state.value
        if d.state in (DeliveryState.FAILED, DeliveryState.INTERRUPTED):
            shown += " (retried by the next crawl)"
        rows.append(f"<tr><td>{escape(d.channel)}</td><td>{escape(shown)}</td>"
                    f"<td>{d.attempts}</td><td>{when(d.at)}</td>"
                    f"<td>{escape(d.error or '')}</td></tr>")
    return ("<h2>Alerts</h2><table class='list'><thead><tr><th>Channel</th><th>State</th>"
            "<th>Attempts</th><th>When</th><th>Error</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def review_page(view: ChangeView, review: Review | None, deliveries: list[Delivery],
                visit: Visit, flash: str | None,
                screenshots: Mapping[int, int] | None = None) -> str:
    """``screenshots``: for a rendered page, its screenshot capture's id by crawl id."""
    screenshots = screenshots or {}
    event = view.event
    assert event.id is not None
    source = (f"<dt>Source</dt><dd>{escape(view.source['name'])} "
              f"({escape(view.source['url'])})</dd>") if view.source else ""
    page_url = event.url
    named: dict[str, tuple[str, str]] = {
        Kind.REMOVED: ("Last good", "Now"),
        Kind.DEAD_LINK: ("Cited page, last good", "Cited page, failing")}
    labels = named.get(event.kind, ("Before", "After"))
    facts = (f"<dl class='facts'><dt>Kind</dt><dd>{kind_badge(event.kind)}</dd>"
             f"<dt>URL</dt><dd>{escape(page_url)}</dd>{source}"
             f"<dt>Detected</dt><dd>{when(event.detected_at)}</dd>"
             + _capture_line(labels[0], view.before) + _capture_line(labels[1], view.after)
             + f"<dt>History</dt><dd>{link(timeline_href(page_url), 'every capture of this page')}"
               f"</dd></dl>")
    return "".join([
        "<p class='crumbs'><a href='/changes'>← All changes</a></p>",
        f"<h1>{escape(view.title)}</h1>",
        f"<p class='lede'>{kind_badge(event.kind)} {escape(event.summary)}</p>",
        f"<p class='flash' role='status'>{escape(flash)}</p>" if flash else "",
        f"<div class='card'>{facts}</div>",
        _kind_section(view),
        _review_box(event.id, review, visit),
        _frames(view, screenshots),
        _deliveries(deliveries),
    ])
