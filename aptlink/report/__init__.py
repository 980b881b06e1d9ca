"""Reports: JSON, Markdown/HTML, STIX 2.1, MISP and ATT&CK Navigator exports of a case.

Each format is a module with ``write(case, path, kb) -> Path``; :func:`export_case` writes one
format of a stored case (what ``aptlink report`` runs). Modules load on demand, so writing
report.json does not import stix2.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aptlink.errors import ConfigError

if TYPE_CHECKING:
    from aptlink.kb import KnowledgeBase
    from aptlink.pipeline import CaseResult

# format -> (module, default file name in the case folder)
FORMATS: dict[str, tuple[str, str]] = {
    "md": ("markdown", "report.md"),
    "html": ("html", "report.html"),
    "json": ("jsonreport", "report.json"),
    "stix": ("stix", "report.stix.json"),
    "misp": ("misp", "report.misp.json"),
    "navigator": ("navigator", "report.layer.json"),
}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
    return fmt


def write(fmt: str, case: CaseResult, path: Path, kb: KnowledgeBase | None) -> Path:
    """Write ``case`` in format ``fmt`` to ``path``."""
    module: Any = importlib.import_module(f"aptlink.report.{FORMATS[check_format(fmt)][0]}")
    if fmt == "json":
        return Path(module.write(case, path))
    return Path(module.write(case, path, kb))


def load_case(case_dir: Path) -> CaseResult:
    """Everything a stored case holds; StoreError when there is no case there."""
    from aptlink.store import CaseStore

    with CaseStore.open(case_dir, create=False) as store:
        return store.load()


def target(case_dir: Path, fmt: str, out: Path | None) -> Path:
    """Where the report goes: ``out``, or its default name in the case folder."""
    path = out or case_dir / FORMATS[check_format(fmt)][1]
    if not path.parent.is_dir():
        raise ConfigError("no such folder for the report", str(path.parent))
    return path


def export_case(case_dir: Path, fmt: str, out: Path | None, kb: KnowledgeBase | None) -> Path:
    """Load a stored case and write one report of it (default: beside case.db)."""
    case = load_case(case_dir)
    return write(fmt, case, target(case_dir, fmt, out), kb)
