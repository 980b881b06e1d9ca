"""Text from the evidence, made safe to show in a terminal.

Mail subjects, sender names, host names, file names and command lines are written by the attacker.
Printed as they are, a control character or escape sequence in one can clear the screen, move the
cursor back over a detection line, hide text, retitle the window or (OSC 52) write the analyst's
clipboard; a bidirectional override makes ``invoice<U+202E>fdp.exe`` show as ``invoiceexe.pdf``.
``terminal_text`` writes each such character as a visible ``\\xNN`` or ``\\uNNNN`` escape, keeping
line feeds and tabs. (Rich markup in such text is a second trap: print it with ``markup=False``.)
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls (U+009B is a one-character CSI), and the
# bidirectional marks, embeddings, overrides and isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` with every character that could act on a terminal written as an escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
