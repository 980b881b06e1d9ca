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


def write(fmt: str, case: CaseResult, path: Path, kb: KnowledgeBase | None) -> Path:
    """Write ``case`` in format ``fmt`` to ``path``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
    module: Any = importlib.import_module(f"aptlink.report.{FORMATS[fmt][0]}")
    if fmt == "json":
        return Path(module.write(case, path))
    return Path(module.write(case, path, kb))


def export_case(case_dir: Path, fmt: str, out: Path | None, kb: KnowledgeBase | None) -> Path:
    """Load a stored case and write one report of it (default: beside case.db)."""
    from aptlink.store import CaseStore

    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
    with CaseStore.open(case_dir, create=False) as store:
        case = store.load()
    path = out or case_dir / FORMATS[fmt][1]
    if path.parent and not path.parent.is_dir():
        raise ConfigError("no such folder for the report", str(path.parent))
    return write(fmt, case, path, kb)
