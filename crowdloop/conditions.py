"""Validation of HumanLoopActivationConditions (spec §9): the JSON schema of the built-in task types.

    {"Conditions": [C, ...]}         a loop starts when any top-level condition holds
    C = {"ConditionType": str, "ConditionParameters": {...}}
      | {"And": [C, C, ...]} | {"Or": [C, C, ...]}     (>= 2 items each, at most two levels deep)

The string is stored verbatim and echoed by DescribeFlowDefinition; crowdloop does not evaluate it
(the custom task type starts a loop on every StartHumanLoop).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from crowdloop.errors import InvalidInput

FIELD = "humanLoopActivationConfig.humanLoopActivationConditionsConfig.humanLoopActivationConditions"
MAX_NESTING = 2

_REKOGNITION = "AWS/Rekognition/DetectModerationLabels/Image/V3"
_TEXTRACT = "AWS/Textract/AnalyzeDocument/Forms/V1"
_COMPARISONS = ("Equals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
# Condition type -> (required string parameters, optional parameters and their checks)
_SCHEMAS: dict[str, dict[str, tuple[tuple[str, ...], dict[str, str]]]] = {
    _REKOGNITION: {
        "ModerationLabelConfidenceCheck": (
            ("ModerationLabelName",),
            {f"Confidence{c}": "confidence" for c in _COMPARISONS if c != "Equals"},
        ),
        "Sampling": ((), {"RandomSamplingPercentage": "percentage"}),
    },
    _TEXTRACT: {
        "ImportantFormKeyConfidenceCheck": (
            ("ImportantFormKey",),
            {
                "ImportantFormKeyAliases": "strings",
                **{f"KeyValueBlockConfidence{c}": "confidence" for c in _COMPARISONS},
                **{f"WordBlockConfidence{c}": "confidence" for c in _COMPARISONS},
            },
        ),
        "MissingImportantFormKey": (("ImportantFormKey",), {"ImportantFormKeyAliases": "strings"}),
        "Sampling": ((), {"RandomSamplingPercentage": "percentage"}),
    },
}


def check_activation_conditions(text: str, request_source: str) -> None:
    """InvalidInput (naming FIELD) unless `text` is activation-conditions JSON valid for the source."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        _fail(f"it is not valid JSON ({exc})")
    if not isinstance(document, dict) or set(document) != {"Conditions"}:
        _fail('it must be a JSON object with the single member "Conditions"')
    conditions = document["Conditions"]
    if not isinstance(conditions, list) or not conditions:
        _fail('"Conditions" must be a non-empty list')
    schemas = _SCHEMAS.get(request_source, {})
    for condition in conditions:
        _check(condition, schemas, depth=0)


def _check(condition: Any, schemas: dict[str, tuple[tuple[str, ...], dict[str, str]]], depth: int) -> None:
    if not isinstance(condition, dict):
        _fail("each condition must be a JSON object")
    if set(condition) in ({"And"}, {"Or"}):
        ((operator, items),) = condition.items()
        if depth >= MAX_NESTING:
            _fail(f"And/Or conditions can be nested at most {MAX_NESTING} levels deep")
        if not isinstance(items, list) or len(items) < 2:
            _fail(f'"{operator}" must be a list of at least two conditions')
        for item in items:
            _check(item, schemas, depth + 1)
        return
    if set(condition) != {"ConditionType", "ConditionParameters"}:
        _fail('a condition must have exactly "ConditionType" and "ConditionParameters", or be an "And"/"Or" list')
    kind, parameters = condition["ConditionType"], condition["ConditionParameters"]
    if kind not in schemas:
        _fail(f"ConditionType {json.dumps(kind)} is not one of {', '.join(schemas)}")
    if not isinstance(parameters, dict):
        _fail(f"ConditionParameters of {kind} must be a JSON object")
    required, optional = schemas[kind]
    for name in required:
        if not isinstance(parameters.get(name), str) or not parameters[name]:
            _fail(f"{kind} needs a non-empty string {name}")
    for name, value in parameters.items():
        if name in required:
            continue
        check = optional.get(name)
        if check is None:
            _fail(f"{kind} has no parameter {name}")
        elif check == "strings":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                _fail(f"{name} must be a list of non-empty strings")
        elif not _number_in(value, 0.01 if check == "percentage" else 0.0, 100.0):
            _fail(f"{name} must be a number between {'0.01' if check == 'percentage' else '0'} and 100")
    comparisons = [name for name in parameters if optional.get(name) == "confidence"]
    if kind == "ModerationLabelConfidenceCheck" and not 1 <= len(comparisons) <= 2:
        _fail("ModerationLabelConfidenceCheck needs one or two Confidence comparisons")
    if kind == "Sampling" and "RandomSamplingPercentage" not in parameters:
        _fail("Sampling needs RandomSamplingPercentage")


def _number_in(value: Any, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def _fail(reason: str) -> NoReturn:
    raise InvalidInput(f"The activation conditions at '{FIELD}' are not valid: {reason}.", FIELD)
