"""Technique ids across ATT&CK releases: each revoked technique and the one that replaced it.

ATT&CK renumbers: v19 revoked T1070.001 (Clear Windows Event Logs) for T1685.005, T1656
(Impersonation) for T1684.001, T1574.002 (DLL Side-Loading) for T1574.001. aptlink's detectors
and rules use the current ids, while an offline install's actor profiles come from the MISP galaxy
(an older release) and partners' STIX and MISP bundles may be older still. Without one vocabulary,
an actor whose profile says T1070.001 never matches a cleared log reported as T1685.005, and an
actor from the curated pack that uses the new id looks like the only one that clears logs.

``aptlink/kb/data/attack-crosswalk.json`` holds every ``revoked-by`` relationship between
techniques of the newest ATT&CK bundle this project was built with;
:func:`aptlink.model.technique_id` maps every id through it, and the knowledge base finds a
technique by its current id in an older release (``AttackData.get``). Regenerate it from a newer
bundle with ``python -m aptlink.kb.crosswalk enterprise-attack.json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PATH = Path(__file__).parent / "data" / "attack-crosswalk.json"


def revocations(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Old technique id -> the id that revoked it, from a bundle's ``revoked-by`` relationships."""
    objects = list(objects)
    ids: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") == "attack-pattern":
            for ref in obj.get("external_references") or ():
                if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
                    ids[obj["id"]] = str(ref["external_id"])
    found: dict[str, str] = {}
    for rel in objects:
        if rel.get("type") == "relationship" and rel.get("relationship_type") == "revoked-by":
            old, new = ids.get(rel.get("source_ref", "")), ids.get(rel.get("target_ref", ""))
            if old and new and old != new:
                found[old] = new
    return dict(sorted(found.items()))


def main(argv: list[str]) -> None:
    bundle = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    version = next(
        (o.get("x_mitre_version") for o in bundle["objects"] if o["type"] == "x-mitre-collection"),
        "?",
    )
    data = {
        "source": f"ATT&CK Enterprise {version}, revoked-by",
        "revoked": revocations(bundle["objects"]),
    }
    PATH.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(data['revoked'])} revoked techniques -> {PATH}")


if __name__ == "__main__":
    main(sys.argv[1:])
