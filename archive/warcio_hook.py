"""Plain `warcio check` reads brotli bodies in the project's environment: a .pth hook.

warcio 1.8.1 cannot read any ``Content-Encoding: br`` record with the brotli Scrapy needs
(webrecorder/warcio#73; see archive/warcio_brotli.py). ``make install`` writes a ``.pth``
file into the environment (``python -m archive.warcio_hook``) whose one line imports this
module when Python starts; it only adds a finder, which, when ``warcio.bufferedreaders``
is first imported, puts the working brotli reader in its table. So ``warcio check``,
``warcio index`` and every warcio reader in the environment read brotli records, and a
process that never imports warcio pays nothing but this module's import.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder

# Imported at every start of Python: nothing but what it needs (importlib.abc and typing
# would cost 20 ms each time), the types for mypy only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from pathlib import Path
    from types import ModuleType

TARGET = "warcio.bufferedreaders"
PTH_NAME = "vigil-warcio-brotli.pth"
# One line: .pth lines that start with "import" are run at start-up. If vigil is gone
# from the environment, the line does nothing rather than print an error at every start.
PTH_LINE = ("import sys; exec('try:\\n import archive.warcio_hook\\n"
            "except ImportError:\\n pass')\n")


class _Patched:
    def __init__(self, inner: Loader) -> None:
        self.inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        from archive.warcio_brotli import install

        install()


class _WarcioReaders:
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != TARGET:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Patched(spec.loader)  # type: ignore[assignment]
        return spec


def _hook() -> None:
    if not any(isinstance(finder, _WarcioReaders) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WarcioReaders())


def write_pth(site_packages: Path | None = None) -> Path:
    """Write the start-up line into the environment's site-packages (idempotent)."""
    import sysconfig
    from pathlib import Path

    where = site_packages or Path(sysconfig.get_paths()["purelib"])
    path = where / PTH_NAME
    path.write_text(PTH_LINE, encoding="utf-8")
    return path


_hook()

if __name__ == "__main__":
    print(f"wrote {write_pth()}")
