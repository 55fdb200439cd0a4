"""Replay through pywb: a child process on its own port (its own origin) over the home's WARCs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from crawler.app.home import Home

REPO_PYWB = Path(__file__).resolve().parents[2] / ".venv-pywb" / "bin" / "wayback"


def find_wayback() -> Path | None:
    configured = os.environ.get("VIGIL_PYWB")
    for candidate in (configured, str(REPO_PYWB), shutil.which("wayback")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


class Replay:
    """pywb as a child process over the home's WARC files and CDXJ indexes."""

    def __init__(self, home: Home, host: str, port: int) -> None:
        self.home, self.host, self.port = home, host, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        wayback = find_wayback()
        if wayback is None:
            return False
        root = self.home.root / "replay"
        root.mkdir(exist_ok=True)
        (root / "config.yaml").write_text(
            "# Written by vigil serve: pywb over this home's WARC files.\n"
            "collections:\n  web:\n"
            f"    archive_paths: {self.home.warc_dir.resolve()}/\n"
            f"    index_paths: {self.home.index_dir.resolve()}/\n"
            "framed_replay: false\n", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(wayback), "-b", self.host, "-p", str(self.port)], cwd=root,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
