"""A faster route to the stdlib's compat32 MIME tree for well-formed messages.

``email.message_from_bytes`` reads every line of every body through Python code, which makes it
the largest cost of mail triage. :func:`message_tree` builds the *same* ``Message`` tree (the same
headers, payloads, preambles, epilogues and defects) by parsing only the header blocks with the
stdlib and cutting bodies at their boundary lines with one regular-expression pass. It returns
None for anything it does not reproduce exactly (message/* parts, digests, missing or doubled
boundaries, headers running into the body of a multipart, bare CR line ends, deep nesting), and the
caller then parses the message with the stdlib, so hostile or damaged mail is read as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.parser import Parser
from email.policy import compat32

MAX_DEPTH = 20
MAX_PARTS = 1000
PLAIN_CTE = ("7bit", "8bit", "binary")

_HEADERS = Parser(policy=compat32)
# One header field with its continuation lines, as the feedparser's headerRE and compat32's
# header_source_parse read it: the name, then the value without the blanks after the colon.
HEADER_FIELD = re.compile(r"([\041-\071\073-\176]+):[ \t]*(.*\n(?:[ \t].*\n)*)")
BARE_CR = re.compile(rb"\r(?!\n)")
BLANK_LINE = re.compile(r"\n\r?\n")  # a line end, then an empty line (LF or CRLF)
HEADER_BLOCK = re.compile(r"(?:[\041-\071\073-\176]+:.*\n(?:[ \t].*\n)*)*")
# HEADER_FIELD, or else any one character: findall over a block then yields ("", "") exactly when
# the block is not all header fields (HEADER_BLOCK fails), so one pass both checks and splits it.
FIELD_OR_CHAR = re.compile(HEADER_FIELD.pattern + r"|(?s:.)")
NOT_A_FIELD = ("", "")


def message_tree(data: bytes) -> Message | None:
    """The compat32 tree of the message, or None when the stdlib parser must build it."""
    if BARE_CR.search(data):  # one pass over the bytes, not two counts over the text
        return None  # bare CR line ends: the feedparser splits lines there, a regex does not
    text = data.decode("ascii", "surrogateescape")  # what BytesParser does
    parts = [0]
    return _message(text, 0, parts)


def _message(text: str, depth: int, parts: list[int]) -> Message | None:
    parts[0] += 1
    if depth > MAX_DEPTH or parts[0] > MAX_PARTS:
        return None
    end = _header_end(text)
    msg = _headers(text[:end]) if end >= 0 else None
    if msg is None:
        msg = _HEADERS.parsestr(text if end < 0 else text[:end], headersonly=True)
    rest = "" if end < 0 else text[end:]
    maintype = msg.get_content_maintype()
    if maintype == "message":
        return None  # a nested message (or delivery status): the stdlib parses it
    if maintype != "multipart":
        payload = msg.__dict__["_payload"]  # what the feedparser sets, without copying
        msg.__dict__["_payload"] = payload + rest if payload else rest
        return msg
    if end < 0 or msg.__dict__["_payload"] or msg.defects:
        return None
    return msg if _multipart(msg, rest, depth, parts) else None


def _header_end(text: str) -> int:
    """Where the body starts (after the first empty line), or -1 if there is no empty line."""
    if text.startswith("\n"):
        return 1
    if text.startswith("\r\n"):
        return 2
    # the first blank line of either kind, in one pass: the regex engine skips from line end to
    # line end, where str.find for "\n\r\n" stumbles on every CRLF line end, and twice
    blank = BLANK_LINE.search(text)
    return -1 if blank is None else blank.end()


def _headers(head: str) -> Message | None:
    """The headers of a well-formed header block (ending in its blank line) as the feedparser
    stores them; None for anything it would treat specially (defects, misplaced From lines)."""
    msg = Message(policy=compat32)
    pos = 0
    if head.startswith("From "):  # the mbox envelope line
        pos = head.find("\n") + 1
        msg.set_unixfrom(_strip_eol(head[:pos]))
    stop = len(head) - (2 if head.endswith("\r\n") else 1)  # the blank line
    fields = FIELD_OR_CHAR.findall(head, pos, stop)
    if NOT_A_FIELD in fields:
        return None  # a line that is not a header: the feedparser's business
    # set_raw() one by one, in one step
    msg.__dict__["_headers"] = [(name, value.rstrip("\r\n")) for name, value in fields]
    msg.__dict__["_payload"] = ""
    return msg


def _multipart(msg: Message, body: str, depth: int, parts: list[int]) -> bool:
    """Cut a multipart body at its boundary lines and attach the parsed parts, as the feedparser
    does; False for anything irregular (the feedparser would record a defect)."""
    boundary = msg.get_boundary()
    if boundary is None or msg.get_content_subtype() == "digest":
        return False
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in PLAIN_CTE:
        return False
    lines = _boundary_lines(body, "--" + boundary)
    first = next(lines, None)
    if first is None or first[2]:
        return False  # no start boundary, or a close boundary first
    if first[0] > 0:
        msg.preamble = _strip_eol(body[: first[0]])
    start = first[1]
    subparts: list[Message] = []
    for begin, after, close in lines:
        if begin <= start:
            return False  # boundary lines back to back: the feedparser merges them
        sub = _message(body[start:begin], depth + 1, parts)
        if sub is None:
            return False
        _drop_last_eol(sub)
        subparts.append(sub)
        if close:
            msg.epilogue = body[after:]
            msg.__dict__["_payload"] = subparts  # attach() one by one, in one step
            return True
        start = after
    return False  # no close boundary


def _boundary_lines(body: str, sep: str) -> Iterator[tuple[int, int, bool]]:
    """(start, start of the next line, is the close boundary) of each boundary line, matched as
    the feedparser's pattern matches a line: the separator, an optional "--", blanks, line end."""
    size = len(body)
    pos = body.find(sep)
    while pos >= 0:
        if pos == 0 or body[pos - 1] == "\n":
            end = pos + len(sep)
            close = body.startswith("--", end)
            end += 2 if close else 0
            while end < size and body[end] in " \t":
                end += 1
            if end < size and body[end] == "\r":
                end += 1
            if end == size or body[end] == "\n":
                yield pos, min(end + 1, size), close
        pos = body.find(sep, pos + 1)


def _strip_eol(text: str) -> str:
    """The text without one final line end (the feedparser's NLCRE_eol, without its scan)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


def _drop_last_eol(part: Message) -> None:
    """RFC 2046: the line end before a boundary belongs to the boundary, not to the part."""
    if part.get_content_maintype() == "multipart":
        epilogue = part.epilogue
        if epilogue == "":
            part.epilogue = None
        elif epilogue is not None:
            part.epilogue = _strip_eol(epilogue)
        return
    payload = part.__dict__["_payload"]
    if isinstance(payload, str):
        part.__dict__["_payload"] = _strip_eol(payload)
