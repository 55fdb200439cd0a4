"""An append-only, hash-chained custody log: every entry's hash covers the one before."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from archive.timeutil import utcnow, warc_date

GENESIS = "0" * 64
CAPTURE, EXPORT, VERIFY, DELETION = "capture", "export", "verify", "deletion"
ACTIONS = (CAPTURE, EXPORT, VERIFY, DELETION)


def entry_hash(previous: str, at: str, action: str, detail: str) -> str:
    """SHA-256 over the previous hash and this entry's canonical fields."""
    canonical = json.dumps([previous, at, action, detail], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(db: Database, action: str, detail: dict[str, Any]) -> str:
    """Add an entry after the last one (in one transaction, so the chain never forks)."""
    assert action in ACTIONS, action
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
    with db.conn:
        row = db.execute("SELECT hash FROM custody ORDER BY id DESC LIMIT 1").fetchone()
        previous = row[0] if row else GENESIS
        at = warc_date(utcnow())
        digest = entry_hash(previous, at, action, text)
        db.table("custody").insert({"at": at, "action": action, "detail": text,
                                    "prev_hash": previous, "hash": digest})
    return digest


@dataclass(frozen=True)
class ChainProblem:
    entry: int
    problem: str


def check_chain(db: Database) -> list[ChainProblem]:
    problems = []
    previous = GENESIS
    for row in db.query("SELECT * FROM custody ORDER BY id"):
        if row["prev_hash"] != previous:
            problems.append(ChainProblem(row["id"], "does not follow the entry before it"))
        if entry_hash(row["prev_hash"], row["at"], row["action"], row["detail"]) != row["hash"]:
            problems.append(ChainProblem(row["id"], "its hash does not match its contents"))
        previous = row["hash"]
    return problems


@dataclass(frozen=True)
class Head:
    """Where the chain stood: how many entries, and the last one's hash. A signed
    manifest carries it, so that cutting or rewriting the chain before it shows."""

    entries: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.hash}


def head(db: Database) -> Head:
    row = db.execute("SELECT COUNT(*), (SELECT hash FROM custody ORDER BY id DESC LIMIT 1) "
                     "FROM custody").fetchone()
    return Head(int(row[0]), row[1] or GENESIS)


def check_anchor(db: Database, anchor: Head) -> str | None:
    """Why the chain no longer reaches the head a manifest signed, or None if it does."""
    if anchor.entries == 0:
        return None
    rows = db.execute("SELECT hash FROM custody ORDER BY id LIMIT 1 OFFSET ?",
                      [anchor.entries - 1]).fetchone()
    if rows is None:
        return f"has fewer than the {anchor.entries} entries a signed manifest counted"
    if rows[0] != anchor.hash:
        return f"entry {anchor.entries} is not the one a signed manifest named"
    return None


def entries(db: Database, action: str) -> list[tuple[int, dict[str, Any]]]:
    """(position in the chain, detail) of every entry of one action, oldest first."""
    found = []
    for position, row in enumerate(db.query("SELECT action, detail FROM custody ORDER BY id"),
                                   start=1):
        if row["action"] == action:
            found.append((position, json.loads(row["detail"])))
    return found
