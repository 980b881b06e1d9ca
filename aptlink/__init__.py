"""aptlink: find targeted attacks in evidence, link them into campaigns, name the actor, with reasons."""

__version__ = "0.1.0"

__all__ = ["__version__"]
