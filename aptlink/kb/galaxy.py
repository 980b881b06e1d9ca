"""MISP galaxy clusters: the threat-actor cluster (vendor names, country, references) and an
ATT&CK-lite built from the MITRE clusters, so that a fresh install works offline.

The clusters come from the ``pymispgalaxies`` package or from a folder holding a newer copy
(``clusters/<name>.json``); for each cluster the newest of the two (by its ``version``) is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from aptlink.errors import KnowledgeError
from aptlink.kb.attack import AttackData, Row

ID_SUFFIX_RE = re.compile(r"\s+-\s+((?:T\d{4}(?:\.\d{3})?)|G\d{4}|S\d{4}|M\d{4}|C\d{4})$")
DEPRECATED = "This object is deprecated"
ENTERPRISE_PREFIX = "attack-"
LITE_CLUSTERS = (
    "mitre-attack-pattern",
    "mitre-course-of-action",
    "mitre-intrusion-set",
    "mitre-malware",
    "mitre-tool",
)


def packaged_clusters_dir() -> Path | None:
    """The cluster folder inside the installed pymispgalaxies package."""
    try:
        import pymispgalaxies
    except ImportError:
        return None
    path = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters"
    return path if path.is_dir() else None


def clusters_dir(root: Path) -> Path:
    """Accept the galaxy repository root or its ``clusters`` folder."""
    return root / "clusters" if (root / "clusters").is_dir() else root


def read_cluster(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise KnowledgeError(
            f"MISP galaxy cluster is not valid JSON: {exc.msg}", f"{path}:{exc.lineno}:{exc.colno}"
        ) from exc
    except OSError as exc:
        raise KnowledgeError(f"cannot read MISP galaxy cluster: {exc}", str(path)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("values"), list):
        raise KnowledgeError("MISP galaxy cluster has no 'values' list", str(path))
    return data


@cache
def _cached_cluster(path: Path, mtime_ns: int) -> dict[str, Any]:
    return read_cluster(path)


PROBLEMS: list[str] = []  # broken cluster copies that were passed over, for `kb status`


def cluster(name: str, extra_dirs: Iterable[Path] = ()) -> dict[str, Any] | None:
    """The newest copy of one cluster among the packaged one and the given folders.

    A broken copy is passed over (and listed in PROBLEMS) so that the others still count.
    """
    best: dict[str, Any] | None = None
    dirs = [d for d in (packaged_clusters_dir(), *map(clusters_dir, extra_dirs)) if d]
    for folder in dirs:
        data = _try_cluster(folder / f"{name}.json")
        if data is None:
            continue
        if best is None or _version(data) >= _version(best):
            best = data
    return best


def _try_cluster(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return _cached_cluster(path, path.stat().st_mtime_ns)
    except KnowledgeError as exc:
        if str(exc) not in PROBLEMS:
            PROBLEMS.append(str(exc))
        return None


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version", 0))
    except (TypeError, ValueError):
        return 0


def split_value(value: str) -> tuple[str, str | None]:
    """``"Spearphishing Attachment - T1566.001"`` -> (name, id)."""
    m = ID_SUFFIX_RE.search(value)
    if not m:
        return value, None
    return value[: m.start()].strip(), m.group(1)


def values(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    if data is None:
        return []
    return [v for v in data["values"] if isinstance(v, dict) and "value" in v]


# ---------------------------------------------------------------- ATT&CK-lite


def attack_lite(extra_dirs: Iterable[Path] = ()) -> AttackData:
    """Techniques, mitigations, groups and software from the MISP MITRE clusters."""
    dirs = list(extra_dirs)
    data = AttackData(source="misp-galaxy (ATT&CK-lite)")
    uuids: dict[str, str] = {}
    clusters = {name: cluster(name, dirs) for name in LITE_CLUSTERS}
    _lite_techniques(data, values(clusters["mitre-attack-pattern"]), uuids)
    _lite_revoked(data, values(clusters["mitre-attack-pattern"]), uuids)
    _lite_software(data, values(clusters["mitre-malware"]), "malware", uuids)
    _lite_software(data, values(clusters["mitre-tool"]), "tool", uuids)
    _lite_mitigations(data, values(clusters["mitre-course-of-action"]), uuids)
    _lite_groups(data, values(clusters["mitre-intrusion-set"]), uuids)
    ap = clusters["mitre-attack-pattern"] or {}
    data.version = f"misp-galaxy mitre-attack-pattern v{ap.get('version', '?')}"
    return data


def _lite_techniques(data: AttackData, rows: list[dict[str, Any]], uuids: dict[str, str]) -> None:
    for v in rows:
        name, tid = split_value(v["value"])
        meta = v.get("meta") or {}
        phases = [str(k) for k in meta.get("kill_chain") or ()]
        enterprise = [p for p in phases if p.startswith(ENTERPRISE_PREFIX)]
        if not tid or not tid.startswith("T") or not enterprise:
            continue
        if v.get("description", "").startswith(DEPRECATED):
            continue
        tactics = sorted({p.split(":", 1)[1] for p in enterprise if ":" in p})
        data.techniques[tid] = {
            "id": tid,
            "name": name,
            "description": v.get("description", ""),
            "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}",
            "tactics": tactics,
            "platforms": list(meta.get("mitre_platforms") or ()),
            "subtechnique": "." in tid,
            "detections": [],
            "data_components": list(meta.get("mitre_data_sources") or ()),
            "mitigations": [],
        }
        uuids[v["uuid"]] = tid


def _lite_revoked(data: AttackData, rows: list[dict[str, Any]], uuids: dict[str, str]) -> None:
    """Drop revoked techniques on purpose; their id (and uuid) now lead to the replacement."""
    for v in rows:
        new = [uuids[u] for u in _related(v, "revoked-by") if u in uuids]
        old = uuids.get(v["uuid"])
        if not new or not old or new[0] == old:
            continue
        data.revoked[old] = new[0]
        data.techniques.pop(old, None)
        uuids[v["uuid"]] = new[0]


def _lite_software(
    data: AttackData, rows: list[dict[str, Any]], kind: str, uuids: dict[str, str]
) -> None:
    for v in rows:
        name, sid = split_value(v["value"])
        if not sid or not sid.startswith("S"):
            continue
        meta = v.get("meta") or {}
        data.software[sid] = {
            "id": sid,
            "name": name,
            "description": v.get("description", ""),
            "url": f"https://attack.mitre.org/software/{sid}",
            "type": kind,
            "aliases": [a for a in meta.get("synonyms") or () if a != name],
            "platforms": [],
            "techniques": [uuids[u] for u in _related(v, "uses") if u in uuids],
        }
        uuids[v["uuid"]] = sid


def _related(v: dict[str, Any], kind: str) -> list[str]:
    return [str(r.get("dest-uuid")) for r in v.get("related") or () if r.get("type") == kind]


def _lite_mitigations(data: AttackData, rows: list[dict[str, Any]], uuids: dict[str, str]) -> None:
    for v in rows:
        name, mid = split_value(v["value"])
        if not mid or not mid.startswith("M"):
            continue
        tids = [uuids[u] for u in _related(v, "mitigates") if uuids.get(u, "").startswith("T")]
        data.mitigations[mid] = {
            "id": mid,
            "name": name,
            "description": v.get("description", ""),
            "url": f"https://attack.mitre.org/mitigations/{mid}",
            "techniques": sorted(set(tids)),
        }
        for tid in tids:
            data.techniques[tid]["mitigations"].append(mid)


def _lite_groups(data: AttackData, rows: list[dict[str, Any]], uuids: dict[str, str]) -> None:
    for v in rows:
        name, gid = split_value(v["value"])
        if not gid or not gid.startswith("G"):
            continue
        meta = v.get("meta") or {}
        used = [uuids[u] for u in _related(v, "uses") if u in uuids]
        row: Row = {
            "id": gid,
            "name": name,
            "description": v.get("description", ""),
            "url": f"https://attack.mitre.org/groups/{gid}",
            "aliases": list(dict.fromkeys([name, *(meta.get("synonyms") or ())])),
            "techniques": {u: "" for u in used if u.startswith("T")},
            "software": {u: "" for u in used if u.startswith("S")},
            "campaigns": [],
            "groups": [],
        }
        data.groups[gid] = row
