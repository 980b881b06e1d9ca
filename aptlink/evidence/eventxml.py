"""Windows events exported as XML (``wevtutil qe /f:xml``, ``Get-WinEvent | % ToXml()``, Event
Viewer's "Save as XML", Splunk's XmlWinEventLog, ``evtx_dump -o xml``).

Each ``<Event>`` element becomes the evtx parser's JSON shape, then the same flat row as an .evtx
record (tests compare the rows of every shared record read both ways). Exports come with a root
element or none, with or without an XML declaration per event, in UTF-8 or UTF-16: the file is
cut at ``<Event>`` boundaries and each element parsed alone, so what lies between events
(declarations, a root, a DOCTYPE) is never parsed, and an event is bounded in size. A broken event
is a warning with its number and the rest is read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aptlink.errors import UnsupportedEvidence
from aptlink.evidence.base import Item, ParseContext, Parser, Source, path_text
from aptlink.hunt.rows import MAX_DEPTH, META_FILE, META_RECORD, META_TIME, Row, flatten
from aptlink.hunt.rows import event_time as row_time

MAX_EVENT_BYTES = 4 * 1024 * 1024
READ_BYTES = 1 << 20
NAMESPACE = b"schemas.microsoft.com/win/2004/08/events/event"
_EVENT_START = re.compile(rb"<Event[\s>]")
_EVENT_END = b"</Event>"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class EventXmlParser(Parser):
    """Windows events as XML, one ``<Event>`` element each."""

    name = "eventxml"
    description = "Windows events as XML (wevtutil, Get-WinEvent ToXml, Splunk XmlWinEventLog)"
    extensions = (".xml",)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> int:
        text = _utf8(head) if head.startswith(_UTF16_BOMS) else head
        if not text.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return 0
        return 90 if _EVENT_START.search(text) and (NAMESPACE in text or b"<System>" in text) else 0

    def parse(self, source: Source, ctx: ParseContext) -> Iterator[Item]:
        if self.sniff(source.head(), source.path) == 0:
            raise UnsupportedEvidence("not Windows events as XML", source.where)
        from aptlink.hunt.events import eventlog_items  # Arrow, only once events are read

        yield from eventlog_items(self.name, source, read_event_xml(source.path, ctx))


def read_event_xml(path: Path, ctx: ParseContext) -> Iterator[Row]:
    """Flat rows, one per ``<Event>``; a broken or oversized event is a warning with its number."""
    where = path_text(path)
    for number, (text, problem) in enumerate(_event_texts(path), 1):
        if text is None:
            ctx.warn(f"{where}#event {number}", problem)
            return
        try:
            row = flatten(parse_event(text))
        except ET.ParseError as exc:
            ctx.warn(f"{where}#event {number}", f"not well-formed XML: {exc}")
            continue
        row[META_FILE] = where
        row[META_RECORD] = row.get("EventRecordID") or f"event {number}"
        time = row_time(row)
        if time:
            row[META_TIME] = time
        yield row


def _event_texts(path: Path) -> Iterator[tuple[bytes | None, str]]:
    """Each ``<Event>...</Event>`` of the file as UTF-8 bytes (and ""); last, ``None`` and a
    reason when the rest of the file cannot be cut into events."""
    with path.open("rb") as fh:
        buffer = fh.read(READ_BYTES)
        utf16 = buffer.startswith(_UTF16_BOMS)
        decoder = _Utf16() if utf16 else None
        if decoder is not None:
            buffer = decoder.feed(buffer)
        at = 0  # (events are sliced out of the buffer, which is cut only between reads)
        while True:
            start = _EVENT_START.search(buffer, at)
            if start is None:
                buffer = buffer[max(at, len(buffer) - 16) :]  # (keep a tag cut by the read)
            else:
                end = buffer.find(_EVENT_END, start.start())
                if end >= 0:
                    at = end + len(_EVENT_END)
                    yield buffer[start.start() : at], ""
                    continue
                buffer = buffer[start.start() :]
                if len(buffer) > MAX_EVENT_BYTES:
                    yield None, f"an event of over {MAX_EVENT_BYTES} bytes: the rest is not read"
                    return
            more = fh.read(READ_BYTES)
            if not more:
                if start is not None:
                    yield None, "the last event is cut off (no </Event>)"
                return
            buffer += decoder.feed(more) if decoder is not None else more
            at = 0


class _Utf16:
    """UTF-16 text (Windows PowerShell's ``>`` writes it) to UTF-8, a piece at a time."""

    def __init__(self) -> None:
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")

    def feed(self, data: bytes) -> bytes:
        return self._decoder.decode(data).encode("utf-8", "surrogatepass")


def _utf8(head: bytes) -> bytes:
    return head.decode("utf-16", "replace").encode("utf-8", "surrogatepass")


# -- an <Event> element as the evtx parser's JSON -------------------------------------------------

# Control characters: an XML parser turns a raw carriage return into a line feed and refuses the
# other C0 controls, which event values hold (CRLF line ends in script blocks and task XML, stray
# bytes in privilege lists). They are swapped for private-use characters before parsing and back
# after, so the values are the .evtx's own.
_CONTROLS = re.compile(rb"[\x00-\x08\x0b-\x1f]")
_STAND_IN = 0xF700
_RESTORE = {_STAND_IN + code: code for code in (*range(0x09), *range(0x0B, 0x20))}


def parse_event(text: bytes) -> dict[str, Any]:
    """One ``<Event>...</Event>`` as the evtx parser's JSON (raises ``ET.ParseError``)."""
    swapped = _CONTROLS.search(text) is not None
    if swapped:
        text = _CONTROLS.sub(lambda m: chr(_STAND_IN + m.group()[0]).encode(), text)
    return event_json(ET.fromstring(text), _RESTORE if swapped else None)


def event_json(event: ET.Element, restore: dict[int, int] | None = None) -> dict[str, Any]:
    """``{"Event": {"System": ..., "EventData": ...}}`` as the evtx parser writes it, so that
    ``flatten`` gives the row of the same record read from an .evtx (``restore``: the stand-ins
    of control characters to put back)."""
    body: dict[str, Any] = {}
    for child in event:
        name = _local(child.tag)
        if name == "System":
            body[name] = {_local(e.tag): _system_value(e) for e in child}
        elif name == "EventData":
            body[name] = _event_data(child)
        else:
            _add(body, name, _value(child))
    event_body = _restored(body, restore) if restore else body
    return {"Event": event_body}


def _restored(node: Any, table: dict[int, int]) -> Any:
    if isinstance(node, str):
        return node.translate(table)
    if isinstance(node, dict):
        return {key: _restored(value, table) for key, value in node.items()}
    if isinstance(node, list):
        return [_restored(value, table) for value in node]
    return node


def _add(out: dict[str, Any], name: str, value: Any) -> None:
    """A child under its name; a repeated name as ``name_1``, ``name_2`` ... as the evtx parser
    names them."""
    key, number = name, 0
    while key in out:
        number += 1
        key = f"{name}_{number}"
    out[key] = value


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """A tag without its namespace (cached: an export repeats a few dozen tags endlessly)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1]
        if len(_LOCAL_NAMES) < 10_000:
            _LOCAL_NAMES[tag] = name
    return name


def _attributes(element: ET.Element) -> dict[str, str]:
    attrib = element.attrib
    return {_local(k): v for k, v in attrib.items()} if attrib else {}


def _system_value(element: ET.Element) -> Any:
    attributes, text = _attributes(element), (element.text or "").strip()
    if attributes:
        return {"#attributes": attributes, "#text": text} if text else {"#attributes": attributes}
    return text or None


def _event_data(element: ET.Element) -> dict[str, Any]:
    """Named ``<Data Name="X">`` items by name; unnamed ones as a ``Data`` list, in order."""
    attributes = _attributes(element)
    named: dict[str, Any] = {"#attributes": attributes} if attributes else {}
    unnamed: list[str | None] = []
    for child in element:
        name = _local(child.tag)
        key = child.get("Name")
        if name == "Data" and key is None:
            if "Data" not in named:
                named["Data"] = None  # (the list's place among the named items)
            unnamed.append(_text(child))
        elif name == "Data":
            named[key] = _text(child)  # type: ignore[index]
        else:
            _add(named, name, _value(child))
    if unnamed:
        named["Data"] = {"#text": unnamed if len(unnamed) > 1 else unnamed[0]}
    elif "Data" in named and named["Data"] is None:
        del named["Data"]
    return named


def _value(element: ET.Element, depth: int = 0) -> Any:
    """Any other element (UserData, RenderingInfo ...): children by name (``name_1`` ... when
    one repeats), ``#attributes``, and the text of a leaf; nothing below ``MAX_DEPTH`` levels
    (the row keeps no deeper field either, and a hostile nesting would exhaust the stack)."""
    if depth > MAX_DEPTH:
        return None
    attributes = _attributes(element)
    children = list(element)
    if not children:
        text = _text(element)
        if not attributes:
            return text
        return {"#attributes": attributes, "#text": text} if text else {"#attributes": attributes}
    out: dict[str, Any] = {"#attributes": attributes} if attributes else {}
    for child in children:
        _add(out, _local(child.tag), _value(child, depth + 1))
    return out


def _text(element: ET.Element) -> str | None:
    """An element's text; None when it has none but layout: a line break and the indent of a
    pretty-printed empty element (``evtx_dump -o xml`` writes them; Windows does not)."""
    text = element.text
    if not text or (len(text) > 1 and text[0] == "\n" and not text.strip(" \t\n")):
        return None
    return text
