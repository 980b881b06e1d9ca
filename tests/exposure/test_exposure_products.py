"""Vendor and product names as inventories spell them, normalised to one product family each."""

from __future__ import annotations

import pytest

from aptlink.exposure.catalogue import load_catalogue, match_text
from aptlink.kb.kev import load_kev

CATALOGUE = load_catalogue()


@pytest.mark.parametrize(
    ("vendor", "product", "family"),
    [
        ("Fortinet", "FortiGate 100F", "fortios"),
        # model codes as CMDBs hold them (unknown products before 2026-11-26)
        ("Fortinet", "FG-60F", "fortios"),
        ("Fortinet", "FGT100F", "fortios"),
        ("Fortinet", "FGVM64", "fortios"),
        ("Fortinet", "FWF-61F", "fortios"),
        ("Ivanti", "ISA6000", "ivanti-connect-secure"),
        # full-width, as a Japanese IME types it (unknown products before 2026-11-26)
        ("フォーティネット", "ＦｏｒｔｉＧａｔｅ ６０Ｆ", "fortios"),
        ("ノースグリッド", "ＰｒｏＳｅｌｆ", "proself"),
        ("Ａｒｒａｙ Ｎｅｔｗｏｒｋｓ", "ＡＧ１０００", "arrayos-ag"),
        ("Ivanti", "PSA3000", "ivanti-connect-secure"),
        ("Fortinet", "FortiOS", "fortios"),
        ("fortinet", "FortiGate-VM64", "fortios"),
        ("Fortinet", "FortiProxy", "fortiproxy"),
        ("Fortinet", "FortiManager", "fortimanager"),
        ("Pulse Secure", "Pulse Connect Secure", "ivanti-connect-secure"),
        ("Ivanti", "Ivanti Connect Secure", "ivanti-connect-secure"),
        ("Ivanti", "Policy Secure", "ivanti-policy-secure"),
        ("Pulse Secure", "Pulse Policy Secure", "ivanti-policy-secure"),
        ("Array Networks", "Array AG", "arrayos-ag"),
        ("Array Networks", "ArrayOS AG", "arrayos-ag"),
        ("Array Networks", "vxAG", "arrayos-ag"),
        ("", "Array AG1000", "arrayos-ag"),
        ("Citrix", "Citrix ADC", "netscaler"),
        ("Citrix", "NetScaler ADC", "netscaler"),
        ("Citrix", "Citrix Gateway", "netscaler"),
        ("Cloud Software Group", "NetScaler Gateway", "netscaler"),
        ("Palo Alto Networks", "PAN-OS", "pan-os"),
        ("Palo Alto Networks", "GlobalProtect", "pan-os"),
        ("Palo Alto", "PA-3220", "pan-os"),
        ("Cisco", "ASA 5516-X", "cisco-asa"),
        ("Cisco", "Adaptive Security Appliance", "cisco-asa"),
        ("Cisco", "Firepower Threat Defense", "cisco-ftd"),
        ("Cisco", "FTD", "cisco-ftd"),
        ("SonicWall", "SMA 100", "sonicwall-sma100"),
        ("SonicWall", "SMA 410", "sonicwall-sma100"),
        ("SonicWall", "SMA 1000", "sonicwall-sma1000"),
        ("SonicWall", "SonicOS", "sonicos"),
        ("SonicWall", "NSa 2700", "sonicos"),
        ("Zyxel", "USG FLEX 200", "zyxel-firewall"),
        ("Zyxel", "ATP500", "zyxel-firewall"),
        ("F5", "BIG-IP", "f5-big-ip"),
        ("F5 Networks", "BIG-IP APM", "f5-big-ip"),
        ("Check Point", "Quantum Security Gateway", "checkpoint-gateway"),
        ("NorthGrid", "Proself", "proself"),
        ("North Grid", "Proself Enterprise Edition", "proself"),
        ("North Grid", "Proself Gateway Edition", "proself-gateway"),
        ("Progress", "MOVEit Transfer", "moveit-transfer"),
        ("Fortra", "GoAnywhere MFT", "goanywhere-mft"),
        ("Accellion", "FTA", "accellion-fta"),
        ("Atlassian", "Confluence Data Center", "confluence"),
        ("Microsoft", "Exchange Server 2016", "exchange"),
    ],
)
def test_identify(vendor: str, product: str, family: str) -> None:
    found = CATALOGUE.identify(vendor, product)
    assert found is not None, (vendor, product)
    assert found.id == family


@pytest.mark.parametrize(
    ("vendor", "product"),
    [
        ("HP", "LaserJet"),
        ("Microsoft", "Windows Server 2019"),
        ("Cisco", "IP Phone 8841"),
        ("", ""),
        ("Fortinet", "FortiSwitch 148F"),
        ("Fortinet", "FortiAnalyzer 300G"),
        ("", "FG-60F"),  # 'FG' alone names nothing
    ],
)
def test_unknown_products(vendor: str, product: str) -> None:
    assert CATALOGUE.identify(vendor, product) is None


def test_match_text() -> None:
    assert (
        match_text("Palo Alto Networks", "PAN-OS (GlobalProtect)")
        == "palo alto networks pan os globalprotect"
    )


def test_every_kev_pair_named_in_products_exists_in_kev() -> None:
    kev = load_kev()
    for product in CATALOGUE.products.values():
        for vendor, name in product.kev:
            assert kev.for_product(vendor, name), (product.id, vendor, name)


# Software inventories (SCCM, Intune, an SBOM) list VPN clients under the appliance vendor's name. Before
# 2026-11-26 each of these matched an appliance family, and 'Fortinet FortiClient SSLVPN 7.0.7' was reported
# vulnerable to seven FortiOS CVEs, 'NetApp E-Series Array Agent 1.2.3' to the ArrayOS AG CVE.
@pytest.mark.parametrize(
    ("vendor", "product", "word"),
    [
        ("Fortinet", "FortiClient SSLVPN", "forticlient"),
        ("Pulse Secure", "Pulse Secure Desktop Client", "client"),
        ("SonicWall", "SonicWALL SSL VPN NetExtender", "netextender"),
        ("Array Networks", "Array SSL VPN Client", "client"),
        ("Citrix", "Citrix Gateway Plug-in", "plug in"),
        ("Check Point", "Harmony Endpoint", "endpoint"),
        ("Palo Alto Networks", "GlobalProtect App", "app"),
    ],
)
def test_client_software_is_not_the_appliance(vendor: str, product: str, word: str) -> None:
    assert CATALOGUE.identify(vendor, product) is not None  # the family's name is in it ...
    assert CATALOGUE.endpoint_word(vendor, product) == word  # ... but it is the client


@pytest.mark.parametrize(
    ("vendor", "product"),
    [
        ("Siemens", "SIMATIC PCS 7"),  # a DCS, not Pulse Connect Secure
        ("Acme", "PPS 3000"),
        ("NetApp", "E-Series Array Agent"),  # 'array ... ag*' was ArrayOS AG
        ("Dell", "Array Aggregator"),
        ("Progress", "MOVEit Automation"),  # not affected by the MOVEit Transfer CVEs
        ("Microsoft", "Exchange Online"),
    ],
)
def test_look_alike_names_are_not_edge_families(vendor: str, product: str) -> None:
    assert CATALOGUE.identify(vendor, product) is None


@pytest.mark.parametrize(
    ("vendor", "product"),
    [
        ("Fortinet", "FortiGate 60F"),
        ("Array Networks", "Array AG1000T"),
        ("Ivanti", "PCS 9.1"),
        ("Pulse Secure", "PPS"),
        ("Citrix", "NetScaler Gateway"),
        ("Progress", "MOVEit Transfer 2023"),
        ("Microsoft", "Exchange Server 2019"),
    ],
)
def test_appliances_are_not_taken_for_clients(vendor: str, product: str) -> None:
    assert CATALOGUE.identify(vendor, product) is not None
    assert CATALOGUE.endpoint_word(vendor, product) is None
