"""What every file analyser shares: the signal table (reason codes, weights, ATT&CK ids, as data),
the budget that bounds a whole analysis (depth, members, unpacked bytes, ratio, wall time), and the
accumulator an analyser fills with reasons, observations, members to recurse into and errors.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import yaml

from aptlink.evidence.base import Limits
from aptlink.model import Kind, Reason, technique_id

SIGNALS_RESOURCE = ("aptlink.detect", "data/attachment_signals.yaml")
REASON_PREFIX = "attachment:"
# Below this many unpacked bytes a high ratio is ordinary text compression, not a bomb.
BOMB_MIN_BYTES = 1 << 20
CHUNK = 1 << 16
MAX_DETAIL = 600
# Office decryption derives a key per try (about 0.2 s): a mail's worth of passwords, not a list.
MAX_PASSWORD_TRIES = 20


@dataclasses.dataclass(frozen=True, slots=True)
class Signal:
    """One kind of reason: its weight on the 0-100 scale and the ATT&CK technique it shows."""

    key: str
    weight: float
    technique: str
    title: str


@functools.cache
def signals() -> Mapping[str, Signal]:
    """The signal table from ``attachment_signals.yaml``, validated once."""
    package, name = SIGNALS_RESOURCE
    raw = yaml.safe_load(resources.files(package).joinpath(name).read_text("utf-8"))
    return {key: _signal(key, spec) for key, spec in raw.items()}


def _signal(key: str, spec: Mapping[str, Any]) -> Signal:
    weight = float(spec["weight"])
    if not 0 <= weight <= 100:
        raise ValueError(f"attachment signal {key}: weight {weight} is outside 0-100")
    return Signal(key, weight, technique_id(str(spec["technique"])), str(spec["title"]))


def reason(key: str, detail: str) -> Reason:
    """A :class:`Reason` for signal ``key``; an unknown key is a programming error."""
    sig = signals()[key]
    return Reason(
        code=REASON_PREFIX + key, detail=detail, technique=sig.technique, weight=sig.weight
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    """An observation before it has a provenance: kind, value and context."""

    kind: Kind
    value: str
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    """A file found inside another one, to be analysed in turn (held in memory only)."""

    name: str
    data: bytes
    passwords: tuple[str, ...] = ()


@dataclasses.dataclass(slots=True)
class Analysis:
    """What one analyser found in one file; the recursive walk turns it into a report."""

    type: str
    reasons: list[Reason] = dataclasses.field(default_factory=list)
    notes: list[Note] = dataclasses.field(default_factory=list)
    members: list[Member] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    encrypted: bool = False
    opened_with: str | None = None

    def flag(self, key: str, detail: str) -> None:
        """Add a reason; a second one with the same code joins the first (one weight per code)."""
        code = REASON_PREFIX + key
        for index, existing in enumerate(self.reasons):
            if existing.code == code:
                if detail not in existing.detail and len(existing.detail) < MAX_DETAIL:
                    joined = f"{existing.detail}; {detail}"[:MAX_DETAIL]
                    self.reasons[index] = dataclasses.replace(existing, detail=joined)
                return
        self.reasons.append(reason(key, detail))

    def flagged(self, key: str) -> bool:
        return any(r.code == REASON_PREFIX + key for r in self.reasons)

    def note(self, kind: Kind, value: str, **context: Any) -> None:
        value = value.strip()[:2048]
        if value and not any(n.kind == kind and n.value == value for n in self.notes):
            self.notes.append(Note(kind, value, context))

    def error(self, message: str) -> None:
        self.errors.append(message[:500])


@dataclasses.dataclass(slots=True)
class Budget:
    """Bounds shared by a whole analysis tree: counts and bytes accumulate across all levels."""

    limits: Limits
    deadline: float
    members: int = 0
    unpacked: int = 0

    @classmethod
    def start(cls, limits: Limits) -> Budget:
        return cls(limits=limits, deadline=time.monotonic() + limits.parse_seconds)

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def room(self) -> int:
        """How many more bytes may be unpacked for the next member."""
        left = self.limits.max_total_unpacked - self.unpacked
        return max(0, min(self.limits.max_member_bytes, left))


@dataclasses.dataclass(slots=True)
class Scan:
    """What an analyser may use: the shared budget and the passwords to try on encrypted content."""

    budget: Budget
    passwords: Sequence[str] = ()

    @property
    def limits(self) -> Limits:
        return self.budget.limits

    def candidates(
        self, limit: int = MAX_PASSWORD_TRIES, first: Sequence[str] = ()
    ) -> Iterator[str]:
        """The passwords to try, ``first`` ones before the mail's, at most ``limit``, while time is left."""
        for count, password in enumerate(dict.fromkeys((*first, *self.passwords))):
            if count >= limit or self.budget.expired():
                return
            yield password

    def admit(self, out: Analysis, name: str, size: int, packed: int | None) -> int | None:
        """Check a member's declared sizes before unpacking; return the byte cap, or None to skip."""
        limits, budget = self.limits, self.budget
        if budget.members >= limits.max_members:
            out.flag(
                "archive-too-many", f"more than {limits.max_members} members; the rest not read"
            )
            return None
        budget.members += 1
        if (
            packed is not None
            and size > BOMB_MIN_BYTES
            and size / max(packed, 1) > limits.max_ratio
        ):
            out.flag(
                "archive-bomb",
                f"{name}: {size} bytes packed into {packed} (ratio over {limits.max_ratio:g})",
            )
            return None
        if size > limits.max_member_bytes:
            out.flag(
                "oversized-member",
                f"{name}: {size} bytes, over the {limits.max_member_bytes} limit",
            )
            return None
        if budget.expired():
            out.error(
                f"{name}: not unpacked, the {limits.parse_seconds:g} s time limit was reached"
            )
            return None
        room = budget.room()
        if size > room:
            out.error(f"{name}: not unpacked, the total unpacked-size limit was reached")
            return None
        if packed is None:
            return room
        return min(room, max(BOMB_MIN_BYTES, int(packed * limits.max_ratio)))

    def spend(self, nbytes: int) -> None:
        self.budget.unpacked += nbytes


def read_bounded(stream: Any, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes from a stream; the flag says whether more was there (a lie or bomb)."""
    parts: list[bytes] = []
    total = 0
    while total <= cap:
        block = stream.read(min(CHUNK, cap + 1 - total))
        if not block:
            return b"".join(parts), False
        parts.append(block)
        total += len(block)
    return b"".join(parts)[:cap], True


class TimeUp(BaseException):
    """The wall-time budget ran out inside a library call. A BaseException, so that the broad
    ``except Exception`` in third-party parsers cannot swallow it."""


@contextlib.contextmanager
def wall_clock(budget: Budget) -> Iterator[None]:
    """Interrupt pure-Python parsing that runs past the budget's deadline (see :func:`alarm`)."""
    with alarm(budget.deadline - time.monotonic()):
        yield


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeUp` in this thread after ``seconds``, unless an outer alarm already bounds
    it (the outer bound keeps its own). In the main thread by SIGALRM; in any other thread (the
    web server runs investigations in one) by a timer that raises it there asynchronously. Both
    strike between two Python instructions, so a long call inside a C library ends first."""
    if threading.current_thread() is not threading.main_thread():
        with _thread_alarm(seconds):
            yield
        return
    usable = hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) in (
        signal.SIG_DFL,
        signal.SIG_IGN,
        None,
    )
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _time_up)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_THREAD_ALARM = threading.local()  # .until: when the alarm owning this thread strikes


@contextlib.contextmanager
def _thread_alarm(seconds: float) -> Iterator[None]:
    """:func:`alarm` outside the main thread: a timer thread raises TimeUp in this one through
    ``PyThreadState_SetAsyncExc``. A strike that comes as the block ends is taken back, so
    TimeUp never lands in the code after it."""
    now = time.monotonic()
    if getattr(_THREAD_ALARM, "until", 0.0) > now:
        yield
        return
    seconds = max(seconds, 0.001)
    _THREAD_ALARM.until = now + seconds
    target, lock, armed = threading.get_ident(), threading.Lock(), [True]

    def strike() -> None:
        with lock:
            if armed[0]:
                armed[0] = False
                _raise_in(target, TimeUp)

    timer = threading.Timer(seconds, strike)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            struck, armed[0] = not armed[0], False
        timer.cancel()
        if struck:
            _raise_in(target, None)  # delivered already, or withdrawn here before it is
        # (if the strike lands during this clean-up, .until is past and needs no reset)
        _THREAD_ALARM.until = 0.0


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    """Schedule ``exception`` in ``thread`` (None withdraws one not yet raised)."""
    argument = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), argument)


def _time_up(signum: int, frame: object) -> None:
    raise TimeUp
