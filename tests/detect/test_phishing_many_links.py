"""Past the sixty links the link checks look at, the first link to each host comes first: sixty
links to one site (a copied newsletter, hidden filler) no longer keep a later host from being
judged."""

from __future__ import annotations

from lure_judge import judged_html

from aptlink.detect.phishing import MAX_LINKS, links_to_judge
from aptlink.evidence.email import MailLink


def test_a_link_after_sixty_filler_links_is_judged() -> None:
    filler = "".join(
        f'<a href="https://news.example-paper.com/story/{n}">story {n}</a> ' for n in range(70)
    )
    html = f'<p>Your mailbox is full.</p>{filler}<a href="http://45.33.12.7/owa/">Keep mail</a>'
    assert "link:ip-host" in judged_html("IT <it@example-paper.com>", html, "Mailbox full")[1]


def test_the_choice_keeps_order_and_size() -> None:
    links = [MailLink(url=f"https://a.example.com/{n}", text="", source="html") for n in range(80)]
    links.insert(75, MailLink(url="https://b.example.net/x", text="", source="html"))
    chosen = links_to_judge(links)
    assert len(chosen) == MAX_LINKS
    assert chosen[-1].url == "https://b.example.net/x"
    assert chosen[:-1] == links[: MAX_LINKS - 1]
    assert links_to_judge(links[:10]) == links[:10]


def test_past_the_extraction_bound_a_new_host_is_still_kept() -> None:
    from aptlink.evidence.email import extract_links

    filler = "".join(f'<a href="https://news.example-paper.com/s/{n}">s</a>' for n in range(600))
    markup = filler + '<a href="https://login.example-phish.test/">Sign in</a>'
    links, _ = extract_links("", markup)
    assert links[-1].url == "https://login.example-phish.test/"
    assert len(links) == 501
    many = "".join(f'<a href="https://h{n}.example-paper.com/">s</a>' for n in range(900))
    assert len(extract_links("", many)[0]) == 600  # a fifth more at most
