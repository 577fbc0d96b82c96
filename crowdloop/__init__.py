"""crowdloop: a self-hosted human review service compatible with Amazon A2I and SageMaker Ground Truth."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_CLIENT_NAMES = ("Client", "Job", "local")


def __getattr__(name: str) -> Any:
    """crowdloop.Client, crowdloop.Job and crowdloop.local(), imported when first used (the server never needs
    them)."""
    if name in _CLIENT_NAMES:
        from crowdloop import client

        return getattr(client, name)
    raise AttributeError(f"module 'crowdloop' has no attribute {name!r}")
