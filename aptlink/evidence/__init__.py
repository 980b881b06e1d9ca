"""Evidence parsers, one module per format. Importing this package registers every parser; the full
set is readable here."""

from aptlink.evidence import email, inventory, stix, template
from aptlink.evidence.base import PARSERS, Item, Limits, ParseContext, Parser, Source

__all__ = [
    "PARSERS",
    "Item",
    "Limits",
    "ParseContext",
    "Parser",
    "Source",
    "email",
    "inventory",
    "stix",
    "template",
]
