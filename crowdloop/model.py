"""Domain types with AWS names. Status strings are the AWS values verbatim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class HumanLoopStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    COMPLETED = "Completed"
    STOPPED = "Stopped"
    STOPPING = "Stopping"


class LabelingJobStatus(StrEnum):
    INITIALIZING = "Initializing"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class FlowDefinitionStatus(StrEnum):
    INITIALIZING = "Initializing"
    ACTIVE = "Active"
    FAILED = "Failed"
    DELETING = "Deleting"


class AssignmentState(StrEnum):
    LEASED = "leased"
    SUBMITTED = "submitted"
    RELEASED = "released"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class WorkerStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    INVITED = "invited"


@dataclass(frozen=True)
class Worker:
    id: int
    worker_id: str  # opaque id written to output.json
    sub: str
    email: str
    status: WorkerStatus
    groups: tuple[str, ...]
    created_at: datetime
    issuer: str = ""  # the OIDC provider the worker signs in through; "" for a local account

    @property
    def signs_in_with_oidc(self) -> bool:
        return bool(self.issuer)
