"""The REST API and dashboard over one case store (thin): ``aptlink serve`` runs :func:`create_app`."""

from aptlink.web.app import create_app

__all__ = ["create_app"]
