"""ARN building and parsing for the SageMaker resources crowdloop manages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crowdloop.errors import InvalidInput

_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):([0-9]{12}):(.+)")


@dataclass(frozen=True)
class Arn:
    region: str
    account: str
    resource_type: str  # human-task-ui, flow-definition, human-loop, workteam, workforce
    name: str

    def __str__(self) -> str:
        return build(self.resource_type, self.name, self.account, self.region)


def build(resource_type: str, name: str, account: str, region: str) -> str:
    if resource_type == "workteam":
        return f"arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/{name}"
    return f"arn:aws:sagemaker:{region}:{account}:{resource_type}/{name}"


def parse(arn: str, expected_type: str, field: str) -> Arn:
    """Parse an ARN of the given resource type; raise InvalidInput naming `field` when it isn't one."""
    match = _ARN.fullmatch(arn)
    if match:
        region, account, rest = match.groups()
        resource_type, _, name = rest.partition("/")
        if expected_type == "workteam":
            crowd, _, name = name.partition("/")
            if crowd != "private-crowd":
                raise InvalidInput(
                    f"Work team ARN {arn} is not a private work team; only private-crowd work teams are supported.",
                    field,
                )
        if resource_type == expected_type and name and "/" not in name:
            return Arn(region, account, resource_type, name)
    raise InvalidInput(f"Value '{arn}' at '{field}' is not a valid {expected_type} ARN.", field)
