"""Evidence parsers, one module per format. Importing this package registers every parser; the full
set is readable here."""

from aptlink.evidence import (
    attachment,
    directory,
    email,
    eventjson,
    eventxml,
    evtx,
    inventory,
    misp,
    msg,
    stix,
    template,
)
from aptlink.evidence.base import PARSERS, Item, Limits, ParseContext, Parser, Source

__all__ = [
    "PARSERS",
    "Item",
    "Limits",
    "ParseContext",
    "Parser",
    "Source",
    "attachment",
    "directory",
    "email",
    "eventjson",
    "eventxml",
    "evtx",
    "inventory",
    "misp",
    "msg",
    "stix",
    "template",
]
