"""Optional dependencies of the export, imported when first needed, with the extra that provides them."""

from __future__ import annotations

import importlib
from typing import Any

from crowdloop.errors import CrowdloopError

EXTRAS = {
    "pyarrow": "export",
    "datasets": "export",
    "scipy": "export",
    "numpy": "export",
    "krippendorff": "export",
    "tqdm": "export",
    "torch": "train",
    "trl": "train",
    "transformers": "train",
}


class MissingDependency(CrowdloopError):
    """An optional package the requested work needs is not installed."""

    def __init__(self, module: str) -> None:
        extra = EXTRAS.get(module, "export")
        super().__init__(
            f"This needs the Python package '{module}', which is not installed: pip install 'crowdloop[{extra}]'"
        )
        self.module = module
        self.extra = extra


def require(module: str) -> Any:
    """import_module(module), or MissingDependency naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingDependency(module) from exc
