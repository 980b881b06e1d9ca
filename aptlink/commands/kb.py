"""The `aptlink kb` commands: sync the sources, show their status, and query actors, techniques,
software, CVEs, indicators and free text. Every query takes ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aptlink.errors import ConfigError

kb_app = typer.Typer(
    name="kb",
    help="The knowledge base: ATT&CK, actors, exploited CVEs, indicators.",
    no_args_is_help=True,
)

AttackOpt = Annotated[
    Path | None,
    typer.Option("--attack", envvar="APTLINK_ATTACK", help="ATT&CK Enterprise STIX 2.1 bundle"),
]
GalaxyOpt = Annotated[
    Path | None,
    typer.Option("--galaxy", envvar="APTLINK_MISP_GALAXY", help="MISP galaxy folder (newer copy)"),
]
FeedOpt = Annotated[
    list[Path] | None,
    typer.Option("--feed", help="indicator feed file or folder (repeatable)"),
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", envvar="APTLINK_CACHE", help="cache folder")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def register(app: typer.Typer) -> None:
    """Add the `kb` command group to the app."""
    app.add_typer(kb_app, name="kb")


def _kb(
    attack: Path | None,
    galaxy: Path | None = None,
    feeds: list[Path] | None = None,
    cache: Path | None = None,
) -> Any:
    from aptlink.kb import KnowledgeBase

    if attack is not None and not attack.is_file():
        raise ConfigError("ATT&CK bundle not found", str(attack))
    if galaxy is not None and not galaxy.is_dir():
        raise ConfigError("MISP galaxy folder not found", str(galaxy))
    return KnowledgeBase.load(attack, galaxy_path=galaxy, feeds=feeds or (), cache_dir=cache)


def _emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text)


def _missing(what: str, name: str) -> None:
    typer.echo(f"error: no {what} named {name!r}", err=True)
    raise typer.Exit(1)


@kb_app.command()
def actor(
    name: Annotated[str, typer.Argument(help="actor name or any alias (case-insensitive)")],
    attack: AttackOpt = None,
    galaxy: GalaxyOpt = None,
    cache: CacheOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An actor profile: aliases, relations, techniques, software, CVEs, targets, sources."""
    kb = _kb(attack, galaxy, cache=cache)
    found = kb.actor(name)
    if found is None:
        conflicts = [c for c in kb.alias_conflicts() if c["alias"].lower() == name.strip().lower()]
        if conflicts:
            _emit(
                {"ambiguous": conflicts},
                as_json,
                f"ambiguous alias {name!r}: " + ", ".join(conflicts[0]["actors"]),
            )
            raise typer.Exit(1)
        _missing("actor", name)
        return
    data = found.to_dict()
    _emit(data, as_json, render_actor(data))


def render_actor(a: dict[str, Any]) -> str:
    lines = [f"{a['name']} ({a['attack_id'] or a['kind']}) {a.get('country') or ''}".rstrip()]
    lines.append(f"  aliases: {', '.join(a['aliases'])}")
    for rel in a["relations"]:
        lines.append(f"  {rel['kind']} {rel['target']} (source: {rel['source']})")
    for label in (
        "cves",
        "sectors",
        "target_countries",
        "software",
        "lure_themes",
        "infrastructure",
    ):
        if a[label]:
            lines.append(f"  {label.replace('_', ' ')}: {', '.join(a[label])}")
    lines.append(f"  techniques ({len(a['techniques'])}): {' '.join(a['techniques'])}")
    if a["first_year"]:
        lines.append(f"  active: {a['first_year']}-{a['last_year'] or ''}")
    lines.append("  sources:")
    lines += [f"    {field}: {' '.join(urls)}" for field, urls in sorted(a["sources"].items())]
    lines += [f"  note: {note}" for note in a["extra"].get("notes", ())]
    return "\n".join(lines)


@kb_app.command()
def technique(
    tid: Annotated[str, typer.Argument(help="ATT&CK technique id, e.g. T1566.001")],
    attack: AttackOpt = None,
    cache: CacheOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An ATT&CK technique: tactics, mitigations, detections, and the actors using it."""
    kb = _kb(attack, cache=cache)
    row = kb.technique(tid)
    if row is None:
        _missing("technique", tid)
        return
    row["mitigation_names"] = [
        {"id": m, "name": kb.attack.mitigations[m]["name"]}
        for m in row.get("mitigations", ())
        if m in kb.attack.mitigations
    ]
    row["actors"] = sorted(a.name for a in kb.actors() if row["id"] in a.techniques)
    text = (
        f"{row['id']} {row['name']} [{', '.join(row['tactics'])}]"
        + (f" (revoked id {row['revoked_id']})" if row.get("revoked_id") else "")
        + "\n  mitigations: "
        + "; ".join(f"{m['id']} {m['name']}" for m in row["mitigation_names"])
        + "\n  actors: "
        + ", ".join(row["actors"])
    )
    _emit(row, as_json, text)


@kb_app.command()
def software(
    name: Annotated[str, typer.Argument(help="software name, alias or id (S0275)")],
    attack: AttackOpt = None,
    cache: CacheOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """ATT&CK software (malware or tool) and the actors using it."""
    kb = _kb(attack, cache=cache)
    row = kb.software(name)
    names = {name.lower()} | (
        {row["name"].lower(), *(x.lower() for x in row["aliases"])} if row else set()
    )
    users = sorted(a.name for a in kb.actors() if names & {s.lower() for s in a.software})
    if row is None and not users:
        _missing("software", name)
        return
    data = dict(row or {"id": None, "name": name, "type": None, "aliases": []})
    data["actors"] = users
    _emit(
        data,
        as_json,
        f"{data['id'] or '-'} {data['name']} ({data['type'] or 'curated only'})\n  actors: {', '.join(users)}",
    )


@kb_app.command()
def cve(
    cve_id: Annotated[str, typer.Argument(help="CVE id, e.g. CVE-2023-28461")],
    attack: AttackOpt = None,
    cache: CacheOpt = None,
    kev: Annotated[
        Path | None, typer.Option("--kev", envvar="APTLINK_KEV", help="KEV catalogue JSON")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A CVE: its CISA KEV entry and the actors known to exploit it (with sources)."""
    from aptlink.kb import KnowledgeBase

    kb = KnowledgeBase.load(attack, kev_path=kev, cache_dir=cache)
    key = cve_id.strip().upper()
    actors = [
        {"name": a.name, "attack_id": a.attack_id, "sources": list(a.sources.get("cves", ()))}
        for a in kb.cve_actors(key)
    ]
    entry: dict[str, Any] | None = kb.kev(key)
    data = {"cve": key, "kev": entry, "actors": actors}
    if entry is None and not actors:
        _missing("CVE known to the knowledge base", key)
        return
    k = entry or {}
    names = ", ".join(str(a["name"]) for a in actors)
    text = f"{key}: {k.get('vendor', '?')} {k.get('product', '')} — {k.get('name', 'not in KEV')}\n  actors: {names}"
    _emit(data, as_json, text)


@kb_app.command()
def ioc(
    value: Annotated[str, typer.Argument(help="indicator value (defanged values are accepted)")],
    feed: FeedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which actor and which source know this indicator, and whether it is warninglisted."""
    from aptlink.kb import KnowledgeBase
    from aptlink.kb.indicators import guess_kind, refang

    kb = KnowledgeBase.indicators_only(feed or ())
    hits = kb.ioc(value)
    listed = kb.warninglisted(value)
    kind = guess_kind(refang(value))
    data = {
        "value": refang(value),
        "kind": str(kind) if kind else None,
        "matches": hits,
        "warninglists": listed,
        "evidence": not listed,
        "feed_errors": kb.feed_warnings,
    }
    lines = [f"{data['value']} ({data['kind'] or 'unknown kind'})"]
    lines += [
        f"  {h['actor'] or 'no actor'} — {h['source']} (confidence {h['confidence']})" for h in hits
    ] or ["  no feed knows it"]
    if listed:
        lines.append("  warninglisted (never counts as evidence): " + "; ".join(listed))
    lines += [f"  feed error: {e}" for e in kb.feed_warnings]
    _emit(data, as_json, "\n".join(lines))


@kb_app.command()
def search(
    text: Annotated[str, typer.Argument(help="free text: a name, alias, id or word")],
    attack: AttackOpt = None,
    cache: CacheOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many results")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Actors, techniques, software, campaigns, mitigations and indicators matching the text."""
    kb = _kb(attack, cache=cache)
    hits = kb.search(text, limit)
    _emit(
        hits,
        as_json,
        "\n".join(f"{h['type']:<10} {h['id']:<12} {h['name']}" for h in hits) or "nothing found",
    )


@kb_app.command()
def status(
    attack: AttackOpt = None,
    galaxy: GalaxyOpt = None,
    feed: FeedOpt = None,
    cache: CacheOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each knowledge source: where it comes from, version, date, counts; alias conflicts."""
    kb = _kb(attack, galaxy, feed, cache)
    data = kb.status()
    _emit(data, as_json, render_status(data))


def _version(a: dict[str, Any]) -> str:
    """``source vVERSION (date)``, leaving out what the source does not say or already says."""
    version = str(a.get("version") or "")
    text = str(a["source"])
    if version and version not in text:
        text += (
            f" v{version}" if version[0].isdigit() else f", {version.removeprefix('misp-galaxy ')}"
        )
    return f"{text} ({a['modified']})" if a.get("modified") else text


def render_status(s: dict[str, Any]) -> str:
    a = s["attack"]
    lines = [
        f"ATT&CK     {_version(a)}: {a['techniques']} techniques, "
        f"{a['groups']} groups, {a['campaigns']} campaigns, {a['software']} software, {a['mitigations']} mitigations",
        f"actors     {s['actors']['count']} ({s['actors']['curated']} curated, {s['actors']['with_misp']} with MISP names)",
        f"MISP       threat-actor v{s['misp_galaxy']['threat_actor_version']}: {s['misp_galaxy']['threat_actors']} clusters",
        f"KEV        {s['kev']['source']} v{s['kev']['version']}: {s['kev']['count']} CVEs",
        f"indicators {s['indicators']['count']} from {len(s['indicators']['sources'])} sources",
        f"warninglists {s['warninglists']['lists']} lists from {s['warninglists']['source']}",
    ]
    lines += [
        f"synced     {name}: {_label(e)}({e['objects']} objects) fetched {e['fetched']}"
        for name, e in s["synced"].items()
    ]
    lines.append(f"alias conflicts ({len(s['alias_conflicts'])}):")
    lines += [
        f"  {c['alias']}: {', '.join(c['actors'])} — {c['detail']}" for c in s["alias_conflicts"]
    ]
    lines += [f"feed error: {e}" for e in s["feed_errors"]]
    return "\n".join(lines)


def _label(entry: dict[str, Any]) -> str:
    """``version date `` of a synced source, leaving out what it does not have."""
    return "".join(f"{entry[k]} " for k in ("version", "date") if entry.get(k))


def _digests(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, digest = pair.partition("=")
        if not sep or len(digest) != 64:
            raise ConfigError("--sha256 wants NAME=<64 hex digits>", pair)
        out[name.strip()] = digest.strip().lower()
    return out


@kb_app.command(name="sync")
def sync_cmd(
    cache: CacheOpt = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", envvar="APTLINK_SYNC_BASE", help="mirror base URL")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="attack, kev, misp-galaxy, sigma or nvd (repeatable)"),
    ] = None,
    sha256: Annotated[
        list[str] | None, typer.Option("--sha256", help="expected digest: NAME=HEX (repeatable)")
    ] = None,
    nvd: Annotated[
        bool,
        typer.Option("--nvd", help="also fetch NVD CPE ranges for edge-product KEV CVEs (slow)"),
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="NVD: fetch again the CVEs already saved")
    ] = False,
    sigma_package: Annotated[
        str, typer.Option("--sigma-package", help="core, core+, core++, emerging-threats or all")
    ] = "all",
    as_json: JsonOpt = False,
) -> None:
    """Download current ATT&CK, KEV, MISP galaxy and Sigma rules (and NVD ranges with --nvd)
    into the cache (checked, atomic)."""
    from aptlink.kb.sync import sync

    report = sync(
        cache,
        base_url,
        only or (),
        _digests(sha256 or []),
        nvd=nvd,
        refresh=refresh,
        sigma_package=sigma_package,
    )
    data = report.to_dict()
    lines = [
        f"updated {u['name']}: {_label(u)}({u['objects']} objects"
        + (f", sha256 {u['sha256'][:12]})" if u.get("sha256") else ")")
        for u in report.updated
    ]
    lines += [f"skipped {s['name']}: {s['error']}" for s in report.skipped]
    lines += [f"failed  {f['name']}: {f['error']}" for f in report.failed]
    _emit(data, as_json, "\n".join(lines))
    if not report.ok:
        raise typer.Exit(1)
