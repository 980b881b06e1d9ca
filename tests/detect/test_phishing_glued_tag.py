"""Capitals glued to the last word of a subject (a tag salted per mail) are a random tag
(content:random-tag); acronyms standing alone, ASP.NET and CamelCase names are not."""

from __future__ import annotations

from aptlink.detect.phishing import _glued_tag


def test_capitals_glued_to_the_last_word_are_a_tag() -> None:
    assert _glued_tag("Refinance or MortgageFKZQELJHYNO") == "FKZQELJHYNO"
    assert _glued_tag("Doe nu mee en ontdek je prijs.GQME") == "GQME"
    assert _glued_tag("Real Doctors, Real Science, Real ResultsIPZC!") == "IPZC"


def test_acronyms_and_names_are_not() -> None:
    for subject in (
        "Porting a device using MCTP over SMBUS",  # acronyms stand alone
        "Migrating to ASP.NET",  # three letters after a dot
        "Benchmarking x410 with DPDK",
        "New PowerPoint template",
        "Meeting at the OECD",
    ):
        assert _glued_tag(subject) == "", subject
