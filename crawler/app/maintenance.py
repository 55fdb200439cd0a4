"""Keeping a home sound: recovery after a crash, and what the archive holds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from archive.cdxj import ensure_cdxj
from archive.recovery import Repair, pid_alive, repair_open_files
from archive.reindex import Reindexer, ReindexReport
from crawler.app.home import Home
from crawler.app.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    repairs: list[Repair]
    reindexed: ReindexReport | None
    interrupted: list[int]  # crawls whose process died


def recover(home: Home, store: Store) -> Recovery:
    """Close what a crash left open: cut dead writers' ``.open`` files to their last
    complete record, index the records that reached a WARC but not SQLite (and drop rows
    that point past the cut), and mark the crashed crawls interrupted."""
    repairs = repair_open_files(home.warc_dir)
    touched = [r.name for r in repairs]
    reindexed = Reindexer(store.captures, home.warc_dir).run(touched) if touched else None
    if reindexed and (reindexed.added or reindexed.removed):
        log.warning("recovered the index: %d records added, %d rows removed",
                    reindexed.added, reindexed.removed)
    store.record_closed_warcs([r.name for r in repairs if not r.removed], None, home.warc_dir)
    ensure_cdxj(home.warc_dir, home.index_dir)
    dead = [row["id"] for row in store.db.table("crawls").rows_where("status = 'running'")
            if not pid_alive(row["pid"])]
    with store.db.conn:
        for crawl_id in dead:
            store.db.table("crawls").update(crawl_id, {"status": "interrupted"})
    if dead:
        log.warning("crawls %s were interrupted by a crash", ", ".join(map(str, dead)))
    return Recovery(repairs=repairs, reindexed=reindexed, interrupted=dead)


@dataclass(frozen=True)
class ArchiveStats:
    captures: int
    revisits: int
    unique_payloads: int
    warc_files: int
    bytes_on_disk: int
    bytes_saved: int  # what the revisits would have taken as full records

    def public(self) -> dict[str, int]:
        return self.__dict__.copy()


def archive_stats(home: Home, store: Store) -> ArchiveStats:
    db = store.db
    captures, revisits = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(revisit), 0) FROM captures").fetchone()
    unique = db.execute("SELECT COUNT(DISTINCT payload_digest) FROM captures "
                        "WHERE revisit = 0").fetchone()[0]
    saved = db.execute(
        "SELECT COALESCE(SUM(MAX(o.length - r.length, 0)), 0) FROM captures r "
        "JOIN captures o ON o.id = r.refers_to WHERE r.revisit = 1").fetchone()[0]
    files = list(home.warc_dir.glob("*.warc.gz"))
    return ArchiveStats(captures=captures, revisits=revisits, unique_payloads=unique,
                        warc_files=len(files),
                        bytes_on_disk=sum(f.stat().st_size for f in files),
                        bytes_saved=saved)
