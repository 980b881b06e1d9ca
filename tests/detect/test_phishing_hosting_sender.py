"""A sender on a free hosting platform's tenant subdomain (project.firebaseapp.com) is flagged; the
platform's own domain and ordinary organisations are not."""

from __future__ import annotations

from sender_judge import reason_codes


def _codes(sender: str) -> set[str]:
    return reason_codes(sender, "Reset your password", "Follow this link to reset your password.\n")


def test_a_tenant_of_a_hosting_platform_as_sender() -> None:
    assert "sender:hosting-subdomain" in _codes("no-reply@albert-home-11e56.firebaseapp.com")
    assert "sender:hosting-subdomain" in _codes("info@shop-sale.netlify.app")


def test_the_platform_itself_and_organisations_are_not() -> None:
    assert "sender:hosting-subdomain" not in _codes("donotreply@wordpress.com")
    assert "sender:hosting-subdomain" not in _codes("news@mail.example.org")
