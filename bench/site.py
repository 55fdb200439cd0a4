"""A generated static news site for benchmarks: realistic article pages and requisites."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ("council river levee report inspection residents district water county order "
         "witness statement document evidence hearing budget repair crews night flood "
         "authority warning gauge station maintenance engineers seepage crest archive").split()


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 120))).capitalize() + "."


def page(number: int, total: int, rng: random.Random) -> str:
    size = rng.randint(30_000, 80_000)
    body: list[str] = []
    links = [rng.randrange(total) for _ in range(8)]
    while sum(len(p) for p in body) < size - 3000:
        text = _paragraph(rng)
        if links and rng.random() < 0.4:
            text += f' See <a href="/a/{links.pop():05d}.html">the earlier report</a>.'
        body.append(f"<p>{text}</p>")
    related = "".join(f'<li><a href="/a/{(number * 7 + k) % total:05d}.html">Related '
                      f"story {k}</a></li>" for k in range(1, 5))
    nav = "".join(f'<a href="/section/{s}/">{s}</a>' for s in ("news", "world", "local"))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story {number}</title>"
            "<link rel='stylesheet' href='/static/site.css'></head><body>"
            f"<header><nav>{nav}</nav></header><main><article><h1>Story {number}</h1>"
            "<figure><img src='/static/photo.jpg' alt=''></figure>"
            f"{''.join(body)}</article><section class='related'><h2>Related articles</h2>"
            f"<ul>{related}</ul></section></main><footer>The Bench Gazette</footer>"
            "</body></html>")


def generate(root: Path, total: int, seed: int = 1) -> Path:
    """Write ``total`` pages under ``root``; every page is reachable from page 0."""
    rng = random.Random(seed)
    (root / "a").mkdir(parents=True, exist_ok=True)
    (root / "static").mkdir(exist_ok=True)
    (root / "section").mkdir(exist_ok=True)
    for number in range(total):
        html = page(number, total, rng)
        # A chain through every page keeps the whole site reachable at any depth.
        html = html.replace("</article>", f'<p><a href="/a/{(number + 1) % total:05d}.html">'
                            "Next story</a></p></article>")
        (root / "a" / f"{number:05d}.html").write_text(html, encoding="utf-8")
    (root / "static" / "site.css").write_text("body{font-family:Georgia,serif}\n" * 200)
    (root / "static" / "photo.jpg").write_bytes(random.Random(seed).randbytes(200_000))
    return root
