"""The agent runner service."""

__version__ = "0.3.1"
