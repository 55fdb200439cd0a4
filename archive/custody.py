"""An append-only, hash-chained custody log: every entry's hash covers the one before."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from archive.timeutil import utcnow, warc_date

GENESIS = "0" * 64
ACTIONS = ("capture", "export", "verify", "deletion")


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
