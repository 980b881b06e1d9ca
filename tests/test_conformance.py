"""Every registered parser and detector keeps the contract: a docstring and a description, a unique
name, valid (and current) ATT&CK ids, and for parsers, a sample of its format that it recognises by
content and parses without warnings.

A new parser needs a sample: either a ``sample() -> tuple[str, bytes]`` classmethod on the parser,
or an entry in ``SAMPLES`` below.
"""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from aptlink import detect as _detectors  # noqa: F401  (registers)
from aptlink import evidence as _parsers  # noqa: F401  (registers)
from aptlink.demo import demo_files, roles, scenario
from aptlink.detect.base import DETECTORS, Detector
from aptlink.evidence.base import PARSERS, ParseContext, Parser, Source, choose_parser
from aptlink.model import TECHNIQUE_RE

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
ATTACK_BUNDLE = SHARED / "attack" / "enterprise-attack.json"

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "components": [
        {
            "type": "device",
            "name": "tnk-vpn01",
            "supplier": {"name": "Fortinet"},
            "version": "7.2.4",
        }
    ],
}


def _demo(path: str) -> Callable[[], tuple[str, bytes]]:
    return lambda: (Path(path).name, demo_files()[path])


def _mbox() -> tuple[str, bytes]:
    mails = [demo_files()[p] for p in roles()["benign"]]
    body = b"".join(
        b"From kenkyu@hokuto-iia.or.jp Wed Jun 15 00:30:00 2022\n" + m + b"\n" for m in mails
    )
    return "inbox.mbox", body


def _evtx() -> tuple[str, bytes]:
    path = SHARED / "evtx" / "hayabusa-samples" / "EVTX-to-MITRE-Attack"
    found = sorted(path.rglob("*.evtx"))
    if not found:
        pytest.skip("no .evtx in ../shared/data")
    return found[0].name, found[0].read_bytes()


def _event_xml() -> tuple[str, bytes]:
    """The evtx sample's events as XML, one after another (as wevtutil qe /f:xml writes them)."""
    import evtx

    name, _ = _evtx()
    path = next((SHARED / "evtx" / "hayabusa-samples" / "EVTX-to-MITRE-Attack").rglob(name))
    events = [r["data"] for r in evtx.PyEvtxParser(str(path)).records()]
    return name.replace(".evtx", ".xml"), "\n".join(events).encode()


def _attachment() -> tuple[str, bytes]:
    """The macro document of the first demo mail, saved alone."""
    msg = email.message_from_bytes(
        demo_files()[roles()["spearphish"][0]], policy=email.policy.default
    )
    part = next(iter(msg.iter_attachments()))  # type: ignore[attr-defined]
    return str(part.get_filename()), bytes(part.get_payload(decode=True))


def _shared(relative: str) -> Callable[[], tuple[str, bytes]]:
    def sample() -> tuple[str, bytes]:
        path = SHARED / relative
        if not path.is_file():
            pytest.skip(f"no {relative} in ../shared/data")
        return path.name, path.read_bytes()

    return sample


# parser name -> a sample it must recognise and parse cleanly
SAMPLES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "observation-sheet": lambda: ("case.obs", b"#aptlink-observations\ndomain-name: x.example\n"),
    "inventory-csv": _demo("edge/inventory.csv"),
    "inventory-cyclonedx": lambda: ("devices.cdx.json", json.dumps(CYCLONEDX).encode()),
    "stix": lambda: ("bundle.json", demo_files()[scenario()["intel"]["file"]]),
    "eml": lambda: ("a.eml", demo_files()[roles()["spearphish"][0]]),
    "mbox": _mbox,
    "eventjson": _demo(roles()["ransomware_hosts"][0]),
    "evtx": _evtx,
    "eventxml": _event_xml,
    "directory": _demo("directory/people.csv"),
    "attachment-file": _attachment,
    "msg": _shared("attachments/msg/plain_unsent.msg"),
}


@functools.cache
def current_techniques() -> frozenset[str]:
    """Technique ids in the ATT&CK bundle, without revoked or deprecated ones."""
    bundle = json.loads(ATTACK_BUNDLE.read_text("utf-8"))
    return frozenset(
        ref["external_id"]
        for o in bundle["objects"]
        if o.get("type") == "attack-pattern"
        and not o.get("revoked")
        and not o.get("x_mitre_deprecated")
        for ref in o.get("external_references", [])
        if ref.get("source_name") == "mitre-attack"
    )


def own_doc(cls: type) -> str:
    return (cls.__dict__.get("__doc__") or "").strip()


@pytest.mark.parametrize("cls", PARSERS.all() + DETECTORS.all(), ids=lambda c: c.name)
def test_documented_and_named(cls: type[Parser] | type[Detector]) -> None:
    assert own_doc(cls), f"{cls.__qualname__} has no docstring of its own"
    assert cls.description.strip(), f"{cls.name} has no description"
    assert NAME_RE.match(cls.name), f"name {cls.name!r} is not lower-case-with-dashes"
    module = __import__(cls.__module__, fromlist=["_"])
    assert (module.__doc__ or "").strip(), f"module {cls.__module__} has no docstring"


def test_names_are_unique() -> None:
    for registry in (PARSERS, DETECTORS):
        names = registry.names()
        assert len(names) == len(set(names))
        assert len({c.__qualname__ + c.__module__ for c in registry.all()}) == len(names)


@pytest.mark.parametrize("cls", DETECTORS.all(), ids=lambda c: c.name)
def test_detector_contract(cls: type[Detector]) -> None:
    assert cls.accepts and all(isinstance(k, str) and k for k in cls.accepts)
    for tid in cls.techniques:
        assert TECHNIQUE_RE.match(tid), f"{cls.name}: {tid!r} is not an ATT&CK technique id"


@pytest.mark.parametrize("cls", DETECTORS.all(), ids=lambda c: c.name)
def test_detector_techniques_are_current_attack(cls: type[Detector]) -> None:
    if not ATTACK_BUNDLE.is_file():
        pytest.skip("no ATT&CK bundle in ../shared/data")
    unknown = sorted(set(cls.techniques) - current_techniques())
    assert unknown == [], f"{cls.name}: not current ATT&CK techniques: {unknown}"


def sample_for(cls: type[Parser]) -> tuple[str, bytes]:
    own = getattr(cls, "sample", None)
    if callable(own):
        name, data = own()
        return str(name), bytes(data)
    assert cls.name in SAMPLES, f"no sample for parser {cls.name!r}: add one to SAMPLES"
    return SAMPLES[cls.name]()


@pytest.mark.parametrize("cls", PARSERS.all(), ids=lambda c: c.name)
def test_parser_handles_its_sample(cls: type[Parser], tmp_path: Path) -> None:
    name, data = sample_for(cls)
    path = tmp_path / name
    path.write_bytes(data)
    source = Source(path)
    assert cls.sniff(source.head(), path) > 0, f"{cls.name} does not recognise its sample"
    assert choose_parser(source) is cls, f"another parser claims {cls.name}'s sample"
    ctx = ParseContext()
    items = list(cls().parse(source, ctx))
    assert items, f"{cls.name} found nothing in its sample"
    assert ctx.warnings == [], [w.message for w in ctx.warnings]
    sha = hashlib.sha256(data).hexdigest()
    for item in items:
        assert item.kind and item.provenance.sha256 == sha
        assert item.provenance.chain and item.provenance.chain[0] == cls.name
