"""Detectors, one module per concern. Importing this package registers every detector; the full set
is readable here."""

from aptlink.detect import attachments, exposure, external, hunt, intel, phishing, template
from aptlink.detect.base import DETECTORS, DetectContext, Detector

__all__ = [
    "DETECTORS",
    "DetectContext",
    "Detector",
    "attachments",
    "exposure",
    "external",
    "hunt",
    "intel",
    "phishing",
    "template",
]
