"""Replay through pywb: a child process on its own port (its own origin) over the home's WARCs.

pywb reads an index made here from the capture index (``archive.replayindex``), remade
whenever the capture index has changed. The child runs ``pywb_child.py``: pywb behind a
guard, taught to replay a 304 revisit with its original's content; it dies with us.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

from archive.cdxj import write_lines
from archive.replayindex import replay_lines
from crawler.app.home import Home
from crawler.app.store import Store

REPO_PYWB = Path(__file__).resolve().parents[2] / ".venv-pywb" / "bin" / "wayback"
CHILD = Path(__file__).with_name("pywb_child.py")
INDEX_NAME = "vigil"
REFRESH_SECONDS = 5.0
log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def find_wayback() -> Path | None:
    configured = os.environ.get("VIGIL_PYWB")
    for candidate in (configured, str(REPO_PYWB), shutil.which("wayback")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def _python_of(wayback: Path) -> str:
    """The interpreter pywb is installed for: beside ``wayback``, else its shebang's."""
    beside = wayback.parent / "python"
    if beside.exists():
        return str(beside)
    with open(wayback, "rb") as handle:
        first = handle.readline().decode("utf-8", "replace").strip()
    return first.removeprefix("#!").split()[0] if first.startswith("#!") else "python3"


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when we die, however we die (even SIGKILL).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ReplayIndex:
    """pywb's CDXJ, made from the capture index and remade when the index changes."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.directory = home.root / "replay" / "indexes"
        self._made: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Remake the index if captures were added or removed since it was made."""
        store = Store.open(self.home.db_path)
        try:
            row = store.db.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM captures"
                                   ).fetchone()
            state = (int(row[0]), int(row[1]))
            with self._lock:
                if state == self._made and (self.directory / f"{INDEX_NAME}.cdxj").exists():
                    return
                write_lines(replay_lines(store.captures), INDEX_NAME, self.directory)
                self._made = state
        finally:
            store.close()


class Replay:
    """pywb as a child process over the home's WARC files and the replay index."""

    def __init__(self, home: Home, host: str, port: int,
                 allowed_hosts: tuple[str, ...] = ()) -> None:
        self.home, self.host, self.port = home, host, port
        self.allowed_hosts = allowed_hosts
        self.index = ReplayIndex(home)
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()

    def start(self) -> bool:
        wayback = find_wayback()
        if wayback is None:
            return False
        root = self.home.root / "replay"
        root.mkdir(exist_ok=True)
        self.index.refresh()
        (root / "config.yaml").write_text(
            "# Written by vigil serve: pywb over this home's WARC files.\n"
            "collections:\n  web:\n"
            f"    archive_paths: {self.home.warc_dir.resolve()}/\n"
            f"    index_paths: {self.index.directory.resolve()}/\n"
            "framed_replay: false\n", encoding="utf-8")
        command = [_python_of(wayback), str(CHILD), "--config", str(root / "config.yaml"),
                   "--bind", self.host, "--port", str(self.port)]
        for name in self.allowed_hosts:
            command += ["--allow-host", name]
        self.process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)
        # Captures made while serving (by `vigil watch`) reach pywb without a page view.
        threading.Thread(target=self._keep_fresh, name="replay-index", daemon=True).start()
        return True

    def _keep_fresh(self) -> None:
        while not self._stopping.wait(REFRESH_SECONDS):
            try:
                self.index.refresh()
            except (OSError, sqlite3.Error) as exc:  # a busy or moved home: next time
                log.warning("could not refresh the replay index: %s", exc)

    def stop(self) -> None:
        self._stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
