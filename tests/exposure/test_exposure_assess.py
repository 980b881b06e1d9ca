"""Exposure assessment against the real KEV catalogue: the MirrorFace measurements and the other ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptlink.exposure.assess import Assessor, Asset, AssetReport, exposure_of
from aptlink.exposure.catalogue import load_catalogue
from aptlink.kb.kev import Kev, load_kev
from aptlink.model import Actor

MIRRORFACE_CVES = {"CVE-2023-27997", "CVE-2023-28461", "CVE-2023-45727"}


@pytest.fixture(scope="module")
def kev(shared: Path) -> Kev:
    return load_kev(shared / "kev" / "known_exploited_vulnerabilities.json")


@pytest.fixture(scope="module")
def assessor(kev: Kev) -> Assessor:
    return Assessor(kev=kev, catalogue=load_catalogue())


def assess(
    assessor: Assessor, vendor: str, product: str, version: str, exposure: str = "internet"
) -> AssetReport:
    return assessor.assess(
        Asset(name="a", vendor=vendor, product=product, version=version, exposure=exposure)
    )


VULNERABLE = [
    ("Fortinet", "FortiOS", "7.2.4"),
    ("Array Networks", "ArrayOS AG", "9.4.0.481"),
    ("NorthGrid", "Proself", "5.61"),
]
PATCHED = [
    ("Fortinet", "FortiOS", "7.2.5"),
    ("Array Networks", "ArrayOS AG", "9.4.0.484"),
    ("NorthGrid", "Proself", "5.63"),
]


def test_mirrorface_versions_report_the_three_cves_with_mirrorface(assessor: Assessor) -> None:
    found: dict[str, tuple[str, ...]] = {}
    for vendor, product, version in VULNERABLE:
        report = assess(assessor, vendor, product, version)
        assert report.status == "vulnerable"
        found.update({h.cve: h.actors for h in report.hits})
    assert set(found) >= MIRRORFACE_CVES
    assert all("MirrorFace" in found[cve] for cve in MIRRORFACE_CVES)


def test_fixed_versions_report_none_of_the_three(assessor: Assessor) -> None:
    reports = [assess(assessor, *row) for row in PATCHED]
    assert not MIRRORFACE_CVES & {c for r in reports for c in r.cves}
    fortios, array, proself = reports
    # FortiOS 7.2.5 is still hit by later SSL-VPN / fgfmd bugs fixed in 7.2.7, not by CVE-2022-42475 (7.2.3).
    assert fortios.cves == ["CVE-2024-21762", "CVE-2024-23113"]
    assert array.status == "not-affected" and proself.status == "not-affected"


def test_fixed_version_kev_date_and_ransomware_are_reported(assessor: Assessor) -> None:
    hit = {h.cve: h for h in assess(assessor, "Fortinet", "FortiGate-60F", "7.2.4").hits}[
        "CVE-2023-27997"
    ]
    assert hit.fixed == ("7.2.5",)
    assert hit.kev.date_added.isoformat() == "2023-06-13"
    assert hit.kev.ransomware_use is True
    assert hit.advisory == "https://fortiguard.com/psirt/FG-IR-23-097"


def test_actions_for_an_internet_facing_vpn(assessor: Assessor) -> None:
    actions = " ".join(assess(assessor, "Array Networks", "Array AG", "9.4.0.481").actions)
    assert "upgrade ArrayOS AG (Array AG / vxAG) to 9.4.0.484" in actions
    assert "CISA KEV required action" in actions
    assert "reset the credentials" in actions
    assert "off the internet" in actions


# (vendor, product, version, CVEs that must be reported, CVEs that must not be)
RANGE_CASES = [
    ("Fortinet", "FortiOS", "6.0.4", {"CVE-2018-13379", "CVE-2022-42475", "CVE-2023-27997"}, set()),
    ("Fortinet", "FortiOS", "6.0.5", {"CVE-2022-42475"}, {"CVE-2018-13379"}),
    ("Fortinet", "FortiOS", "7.0.6", {"CVE-2022-40684", "CVE-2024-55591"}, set()),
    ("Fortinet", "FortiOS", "7.0.7", {"CVE-2024-55591"}, {"CVE-2022-40684"}),
    ("Fortinet", "FortiOS", "7.2.2", {"CVE-2022-42475", "CVE-2023-27997"}, set()),
    ("Fortinet", "FortiOS", "7.2.3", {"CVE-2023-27997"}, {"CVE-2022-42475"}),
    ("Fortinet", "FortiOS", "7.4.3", set(), {"CVE-2024-21762", "CVE-2023-27997"}),
    ("Fortinet", "FortiProxy", "7.2.3", {"CVE-2023-27997", "CVE-2024-55591"}, set()),
    ("Fortinet", "FortiProxy", "7.2.4", {"CVE-2024-21762"}, {"CVE-2023-27997"}),
    ("Pulse Secure", "Pulse Connect Secure", "9.0R3.3", {"CVE-2019-11510"}, set()),
    ("Pulse Secure", "Pulse Connect Secure", "9.0R3.4", set(), {"CVE-2019-11510"}),
    ("Ivanti", "Connect Secure", "22.7R2.4", {"CVE-2025-0282", "CVE-2025-22457"}, set()),
    ("Ivanti", "Connect Secure", "22.7R2.5", {"CVE-2025-22457"}, {"CVE-2025-0282"}),
    ("Ivanti", "Connect Secure", "22.7R2.6", set(), {"CVE-2025-0282", "CVE-2025-22457"}),
    ("Ivanti", "Policy Secure", "22.7R1.2", {"CVE-2025-0282"}, set()),
    ("Citrix", "ADC", "13.0-47.22", {"CVE-2019-19781", "CVE-2023-3519", "CVE-2023-4966"}, set()),
    ("Citrix", "ADC", "13.0-47.24", {"CVE-2023-3519"}, {"CVE-2019-19781"}),
    ("Citrix", "NetScaler Gateway", "13.1-49.13", {"CVE-2023-4966"}, {"CVE-2023-3519"}),
    ("Citrix", "NetScaler ADC", "14.1-8.50", {"CVE-2025-5777"}, {"CVE-2023-4966"}),
    ("Citrix", "NetScaler ADC", "14.1-47.46", set(), {"CVE-2025-5777", "CVE-2025-6543"}),
    ("Palo Alto Networks", "PAN-OS", "11.1.2-h2", {"CVE-2024-3400", "CVE-2024-0012"}, set()),
    ("Palo Alto Networks", "GlobalProtect", "11.1.2-h3", {"CVE-2024-0012"}, {"CVE-2024-3400"}),
    ("Palo Alto Networks", "PAN-OS", "11.1.2-h15", set(), {"CVE-2024-0012"}),
    ("Palo Alto Networks", "PAN-OS", "10.1.11", set(), {"CVE-2024-3400", "CVE-2024-0012"}),
    ("F5", "BIG-IP", "15.1.5", {"CVE-2022-1388"}, {"CVE-2020-5902"}),
    ("F5", "BIG-IP", "17.0.0", set(), {"CVE-2022-1388"}),
    ("Zyxel", "USG FLEX 100", "5.36", {"CVE-2024-11667"}, {"CVE-2023-28771"}),
    ("Zyxel", "ATP 200", "V5.35(ABFW.1)", {"CVE-2023-28771"}, {"CVE-2022-30525"}),
    ("Zyxel", "ATP 200", "5.39", set(), {"CVE-2024-11667"}),
    ("SonicWall", "TZ 470", "7.1.1-7058", {"CVE-2024-53704"}, set()),
    ("SonicWall", "TZ 470", "7.1.3-7015", set(), {"CVE-2024-53704"}),
    ("Progress", "MOVEit Transfer", "2023.0.0", {"CVE-2023-34362"}, set()),
    ("Progress", "MOVEit Transfer", "15.0.1", set(), {"CVE-2023-34362"}),
    ("Atlassian", "Confluence Server", "7.10.0", {"CVE-2022-26134"}, {"CVE-2023-22515"}),
    ("Atlassian", "Confluence Data Center", "8.5.1", {"CVE-2023-22515"}, {"CVE-2022-26134"}),
    ("North Grid", "Proself Gateway Edition", "1.65", {"CVE-2023-45727"}, set()),
    ("North Grid", "Proself Gateway Edition", "1.66", set(), {"CVE-2023-45727"}),
]


@pytest.mark.parametrize(("vendor", "product", "version", "present", "absent"), RANGE_CASES)
def test_ranges(
    assessor: Assessor, vendor: str, product: str, version: str, present: set[str], absent: set[str]
) -> None:
    report = assess(assessor, vendor, product, version)
    assert present <= set(report.cves)
    assert not absent & set(report.cves)
    if not present:
        assert report.status in ("not-affected", "check-by-hand") or report.cves


def test_unknown_product_and_bad_versions_are_reported(assessor: Assessor) -> None:
    assert assess(assessor, "Acme", "Toaster", "1.0").status == "unknown-product"
    bad = assess(assessor, "Fortinet", "FortiOS", "seven")
    assert bad.status == "unparseable-version" and "seven" in bad.reason
    assert assess(assessor, "Fortinet", "FortiOS", " ").status == "no-version"


def test_unranged_kev_cves_are_listed_for_checking(assessor: Assessor) -> None:
    asa = assess(assessor, "Cisco", "ASA 5516-X", "9.16(4)27")
    assert asa.status == "check-by-hand"
    assert "CVE-2020-3452" in asa.unranged
    assert any("Check by hand" in a for a in asa.actions)


def test_actors_from_the_knowledge_base_are_merged(kev: Kev) -> None:
    class FakeKb:
        def actors(self) -> list[Actor]:
            return [
                Actor(
                    name="MirrorFace",
                    cves=("CVE-2023-28461",),
                    sources={"cves": ("https://kb.example/mf",)},
                ),
                Actor(name="Volt Typhoon", cves=("CVE-2023-27997",)),
            ]

    assessor = Assessor(kev=kev, catalogue=load_catalogue(), kb=FakeKb())  # type: ignore[arg-type]
    names, sources = assessor.actors_for("CVE-2023-28461")
    assert names == ("MirrorFace",)
    assert sources[0] == "https://kb.example/mf"
    assert assessor.actors_for("CVE-2023-27997")[0] == ("MirrorFace", "Volt Typhoon")


def test_every_curated_cve_is_in_kev_under_its_family(kev: Kev) -> None:
    catalogue = load_catalogue()
    assert len(catalogue.cves()) >= 17
    for cve in catalogue.cves():
        entry = kev.get(cve)
        assert entry is not None, cve
        families = [p for p in catalogue.products.values() if catalogue.ranged(cve, p.id)]
        pairs = {(v.casefold(), n.casefold()) for p in families for v, n in p.kev}
        assert (entry.vendor.casefold(), entry.product.casefold()) in pairs, cve


def test_every_range_names_an_advisory_url() -> None:
    catalogue = load_catalogue()
    for pid in catalogue.products:
        for entry in catalogue.ranges_for(pid):
            assert entry.advisory.startswith("https://"), entry.cve


def test_the_real_knowledge_base_names_mirrorface(kev: Kev) -> None:
    from aptlink.kb import KnowledgeBase

    assessor = Assessor(kev=kev, catalogue=load_catalogue(), kb=KnowledgeBase.load())
    for cve in MIRRORFACE_CVES:
        assert "MirrorFace" in assessor.actors_for(cve)[0], cve


@pytest.mark.parametrize(
    ("vendor", "product", "version", "present", "absent"),
    [
        ("SonicWall", "TZ 370", "6.5.4.14-109n", {"CVE-2024-40766"}, set()),
        ("SonicWall", "TZ 370", "6.5.4.15-116n", set(), {"CVE-2024-40766"}),
        ("SonicWall", "NSa 2700", "7.0.1-5035", {"CVE-2024-40766", "CVE-2024-53704"}, set()),
        ("Palo Alto Networks", "PAN-OS", "10.1.5", {"CVE-2024-9474"}, {"CVE-2024-0012"}),
        ("Palo Alto Networks", "PAN-OS", "10.1.9-h14", set(), {"CVE-2024-9474"}),
        ("Palo Alto Networks", "PAN-OS", "11.2.4", {"CVE-2024-9474", "CVE-2024-0012"}, set()),
    ],
)
def test_more_ranges(
    assessor: Assessor, vendor: str, product: str, version: str, present: set[str], absent: set[str]
) -> None:
    cves = set(assess(assessor, vendor, product, version).cves)
    assert present <= cves and not absent & cves


def test_one_upgrade_target_for_several_cves(assessor: Assessor) -> None:
    report = assess(assessor, "Fortinet", "FortiOS", "7.2.4")
    assert report.actions[0] == (
        "Upgrade FortiOS to 7.2.7 or later: the lowest fixed release that fixes all 3 exploited "
        "CVE(s) found and is in no other exploited CVE's range here."
    )


SWEEP = [
    ("Fortinet", "FortiOS", [f"{b}.{p}" for b in ("6.0", "6.2", "6.4", "7.0", "7.2", "7.4") for p in range(18)]),
    ("Fortinet", "FortiProxy", [f"{b}.{p}" for b in ("7.0", "7.2", "7.4") for p in range(16)]),
    ("Atlassian", "Confluence", [f"7.{m}.{p}" for m in range(4, 20) for p in range(0, 18, 3)]),
    ("Citrix", "NetScaler ADC", [f"13.{m}-{b}.1" for m in (0, 1) for b in (37, 47, 49, 58, 91, 92)]),
    ("Palo Alto Networks", "PAN-OS", [f"10.2.{p}" for p in range(13)] + [f"11.1.{p}" for p in range(6)]),
]  # fmt: skip


def test_the_upgrade_target_is_never_itself_exploitable(assessor: Assessor) -> None:
    # Before 2026-11-26 FortiOS 6.4.15 (and every 6.2/6.4 release from 6.2.14 and 6.4.1) was told
    # 'Upgrade FortiOS to 7.0.3 or later: the first release ... that fixes all': 7.0.3 is the fix of
    # CVE-2021-44168 and in the ranges of eight exploited CVEs, CVE-2023-27997 among them.
    told = 0
    for vendor, product, versions in SWEEP:
        for version in versions:
            report = assess(assessor, vendor, product, version)
            combined = [a for a in report.actions if a.startswith("Upgrade ")]
            for action in combined:
                target = action.split(" to ", 1)[1].split(" or later:", 1)[0]
                assert assess(assessor, vendor, product, target).hits == (), (version, action)
                told += 1
    assert told > 100
    report = assess(assessor, "Fortinet", "FortiOS", "6.4.15")
    assert not any(a.startswith("Upgrade FortiOS to 7.0.3") for a in report.actions)


@pytest.mark.parametrize(
    ("vendor", "product", "version"),
    [
        ("Fortinet", "FortiClient SSLVPN", "7.0.7"),
        ("Pulse Secure", "Pulse Secure Desktop Client", "9.1R14"),
        ("Array Networks", "Array SSL VPN Client", "9.4.0.481"),
        ("NetApp", "E-Series Array Agent", "1.2.3"),
        ("Progress", "MOVEit Automation", "2023.0.0"),
    ],
)
def test_clients_and_look_alikes_report_no_appliance_cve(
    assessor: Assessor, vendor: str, product: str, version: str
) -> None:
    # Each was 'vulnerable' before 2026-11-26 (FortiClient to seven FortiOS CVEs).
    report = assess(assessor, vendor, product, version)
    assert report.status == "unknown-product"
    assert not report.hits
    assert product in report.reason


def test_a_client_says_why_it_is_not_assessed(assessor: Assessor) -> None:
    report = assess(assessor, "Fortinet", "FortiClient SSLVPN", "7.0.7")
    assert "client or agent software ('forticlient')" in report.reason
    assert "not the FortiOS appliance" in report.reason


@pytest.mark.parametrize(
    ("vendor", "product", "version", "cves"),
    [
        ("Fortinet", "FortiOS", "7.2", {"CVE-2023-27997", "CVE-2024-21762"}),
        ("Array Networks", "ArrayOS AG", "9.4", {"CVE-2023-28461"}),
        ("NorthGrid", "Proself", "5", {"CVE-2023-45727"}),
        ("Palo Alto Networks", "PAN-OS", "10.2", {"CVE-2024-0012", "CVE-2024-3400"}),
    ],
)
def test_a_version_without_its_release_is_not_the_first_release(
    assessor: Assessor, vendor: str, product: str, version: str, cves: set[str]
) -> None:
    # Before 2026-11-26 '7.2' was read as 7.2.0 and reported vulnerable to every CVE of that release;
    # the device may run 7.2.11. Now: not assessable, naming the CVEs some releases of 7.2 have.
    report = assess(assessor, vendor, product, version)
    assert report.status == "unparseable-version"
    assert not report.hits
    assert f"{version!r} does not name a " in report.reason
    assert all(cve in report.reason for cve in cves)
    assert report.actions[0].startswith("Read the full ")


def test_a_branch_with_no_exploited_release_is_not_affected(assessor: Assessor) -> None:
    report = assess(assessor, "Array Networks", "ArrayOS AG", "10.1")
    assert report.status == "not-affected" and not report.hits
    assert report.reason == "no ranged exploited CVE affects any release of 10.1"


def test_full_width_and_comma_versions(assessor: Assessor) -> None:
    assert {"CVE-2023-27997"} <= set(assess(assessor, "Fortinet", "FortiOS", "７．２．４").cves)
    comma = assess(assessor, "Fortinet", "FortiOS", "7,2,4")  # was 7.0.0: nine FortiOS 7.0 CVEs
    assert comma.status == "unparseable-version" and not comma.hits


def test_a_range_without_a_recorded_fix_says_so(assessor: Assessor) -> None:
    report = assess(assessor, "Fortinet", "FortiOS", "7.2.0")
    [hit] = [h for h in report.hits if h.cve == "CVE-2022-40684"]
    assert hit.fixed == ()  # the range file records 7.2.1 as last affected, not the fix
    assert (
        "CVE-2022-40684: upgrade FortiOS past the affected range (>= 7.2.0, <= 7.2.1) to the "
        "release the advisory names (https://fortiguard.com/psirt/FG-IR-22-377)."
    ) in report.actions


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        (
            "10.2.8-h3",
            False,
        ),  # hotfixed: was reported affected (one range per branch, to 10.2.9-h1)
        ("10.2.4-h16", False),
        ("11.0.3-h10", False),
        ("10.2.8-h2", True),
        ("10.2.8", True),
        ("10.2.9", True),
        ("10.2.9-h1", False),
        ("11.1.1", True),
        ("10.1.14", False),  # 10.1 is not affected
    ],
)
def test_pan_os_cve_2024_3400_per_maintenance_hotfix(
    assessor: Assessor, version: str, affected: bool
) -> None:
    report = assess(assessor, "Palo Alto Networks", "PAN-OS", version)
    assert ("CVE-2024-3400" in report.cves) is affected


@pytest.mark.parametrize(
    ("word", "exposure"),
    [
        # Each was 'unknown exposure ...; taken as unknown' before 2026-11-26: no T1190, no
        # 'take it off the internet' action, a lower score.
        ("Internet facing", "internet"),
        ("Public-facing", "internet"),
        ("WAN", "internet"),
        ("外部公開", "internet"),
        ("Internal only", "internal"),
        ("非公開", "internal"),
        ("  internet  ", "internet"),
    ],
)
def test_exposure_words(word: str, exposure: str) -> None:
    assert exposure_of(word) == exposure


def test_unknown_exposure_words_stay_unknown() -> None:
    assert exposure_of("yes") is None  # which way? the inventory must say
    assert exposure_of("") == "unknown"


@pytest.mark.parametrize("version", ["", "seven point two"])
def test_an_unread_version_names_every_exploited_cve_of_the_family(
    assessor: Assessor, version: str
) -> None:
    # Before 2026-11-26 the only action named the three unranged FortiOS CVEs of 2018-2019, so an
    # analyst could read that CVE-2023-27997 was not in question.
    report = assess(assessor, "Fortinet", "FortiGate", version)
    assert report.status in ("no-version", "unparseable-version")
    first = report.actions[0]
    assert first.startswith("Read the FortiOS version from the device and run the check again: ")
    assert "CVE-2023-27997" in first and "CVE-2024-21762" in first
    assert "CVE-2019-6693" in report.actions[1]  # unranged, still listed


def test_an_unknown_product_of_a_kev_vendor_says_so(assessor: Assessor) -> None:
    # Before 2026-11-26 an unknown product had a reason and nothing to do, even when KEV lists
    # exploited CVEs of its vendor (the shared KEV: seven for Juniper, all Junos OS).
    report = assess(assessor, "Juniper Networks", "SRX300", "21.4R3")
    assert report.status == "unknown-product"
    assert report.actions == (
        "aptlink has no version ranges for this product, but KEV lists 7 exploited CVE(s) of vendor "
        "'Juniper' (Junos OS): check whether this product and version are among them.",
    )
    ivanti = assess(assessor, "Ivanti", "Endpoint Manager Mobile", "11.10").actions[0]
    assert "of vendor 'Ivanti' (Endpoint Manager Mobile (EPMM)," in ivanti  # nearest names first
    assert assess(assessor, "Acme", "LaserJet 9000", "1.2.3").actions == ()
