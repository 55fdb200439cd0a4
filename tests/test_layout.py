"""The house plan, checked: arrows run down, libraries stay framework-free, modules small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "monitor", "archive")
# What each top-level package may import of ours: every arrow runs down.
MAY_IMPORT = {
    "archive": set(),
    "monitor": {"archive"},
    "spiders": {"archive", "monitor"},
    "crawler": {"archive", "monitor", "spiders"},
}
# The libraries run outside a crawl: no crawl framework, no command-line framework.
FRAMEWORKS = {"scrapy", "twisted", "click"}
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_module_imports_only_the_packages_below_it(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    ours = _imports(path) & set(PACKAGES) - {package}
    assert ours <= MAY_IMPORT[package], f"{_name(path)} imports {sorted(ours)}"


@pytest.mark.parametrize("path", [p for p in _modules()
                                  if p.relative_to(ROOT).parts[0] in ("archive", "monitor")],
                         ids=_name)
def test_the_libraries_import_no_framework(path: Path) -> None:
    assert not _imports(path) & FRAMEWORKS, f"{_name(path)} imports a framework"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_module_is_small_and_says_what_it_is_in_one_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_LINES, f"{_name(path)}: {text.count(chr(10))} lines"
    docstring = ast.get_docstring(ast.parse(text), clean=False)
    assert docstring, f"{_name(path)} has no docstring"
    assert docstring.splitlines()[0].strip(), f"{_name(path)}: the docstring's first line"

