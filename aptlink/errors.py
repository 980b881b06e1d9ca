"""The exceptions a caller of aptlink catches.

    AptlinkError                  every error aptlink raises on purpose
    ├── ConfigError               a bad command line, setting or configuration file
    ├── EvidenceError             a file or record that cannot be read as evidence
    │   ├── UnsupportedEvidence   no parser handles this file (routing, not failure)
    │   ├── CorruptEvidence       the parser recognised the format but the content is broken
    │   └── LimitExceeded         a bound on size, depth, ratio, count or time was hit
    ├── KnowledgeError            a knowledge source is missing or malformed
    ├── StoreError                the case store cannot be opened, migrated or written
    └── RegistryError             a duplicate or unknown parser/detector name

Each carries an optional ``where`` (a path, ``path:line`` or ``path#record``) that the CLI prints
as ``error: <what> (<where>)``.
"""

from __future__ import annotations


class AptlinkError(Exception):
    """Base of every error aptlink raises on purpose."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


class ConfigError(AptlinkError):
    """A bad command line, setting or configuration file."""


class EvidenceError(AptlinkError):
    """A file or record that cannot be read as evidence."""


class UnsupportedEvidence(EvidenceError):
    """No parser handles this file; the file is skipped, not failed."""


class CorruptEvidence(EvidenceError):
    """The format was recognised but the content is broken."""


class LimitExceeded(EvidenceError):
    """A bound on size, nesting, decompression ratio, count or time was hit."""


class KnowledgeError(AptlinkError):
    """A knowledge source is missing or malformed."""


class StoreError(AptlinkError):
    """The case store cannot be opened, migrated or written."""


class RegistryError(AptlinkError):
    """A duplicate or unknown parser or detector name."""
