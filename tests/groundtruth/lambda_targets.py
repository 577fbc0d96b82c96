"""Python targets for tests/groundtruth/test_lambdas.py, importable as tests.groundtruth.lambda_targets:..."""

from __future__ import annotations

from typing import Any

CALLS: list[dict[str, Any]] = []


def pre_annotation(event: dict[str, Any]) -> dict[str, Any]:
    """Like AWS's recipe: the source as taskObject, the flag as a string under the recipe's key."""
    CALLS.append(event)
    event["dataObject"]["changed"] = True  # must not reach the caller's event
    source = event["dataObject"].get("source-ref") or event["dataObject"].get("source")
    return {"taskInput": {"taskObject": source}, "humanAnnotationRequired": "true"}


def broken(event: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("the model is not loaded")


def not_json(event: dict[str, Any]) -> object:
    return {"when": object()}


class Handlers:
    @staticmethod
    def echo(event: dict[str, Any]) -> dict[str, Any]:
        return {"echo": event}


NOT_CALLABLE = 42
