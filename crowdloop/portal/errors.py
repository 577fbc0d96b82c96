"""What the portal answers for each error. Views and guards raise; `describe` says what the answer is, and
crowdloop.portal.web.render_error, the one error renderer, writes it as a message page, as JSON
`{"error": ...}` for JSON requests, or as a bare page for the task frame.

    PortalError              a page the portal answers on purpose (status, title, message, JSON extras)
    ├── OutsideNetwork       403: the job's SourceIpConfig does not include the client's address
    └── UnreadableBody       400: the body is malformed or cut short
        └── BodyOverLimit    413: the body is larger than the route takes
    crowdloop.errors.NotFound          404 (an invitation link: "Invitation not valid" and why)
    crowdloop.errors.TaskUnavailable   404 when it is not the worker's; else 410 "Time is up" / "no longer
                                       available" (409 to JSON requests, with `reason` and the task's path)
    crowdloop.errors.Unavailable       503 with Retry-After (an outage: try again)
    starlette HTTPException            404 / 405 (no route for the path / the method)
    anything else                      500, logged with its traceback (never shown)

Forms that are shown again with a message (a wrong password, two different new passwords) are pages of
their views, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from starlette.exceptions import HTTPException

from crowdloop import urls
from crowdloop.errors import NotFound, TaskUnavailable, Unavailable


class PortalError(Exception):
    """An answer the portal gives on purpose: `extra` goes into the JSON answer next to "error"."""

    def __init__(self, status: int, title: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.extra = extra


class OutsideNetwork(PortalError):
    def __init__(self, client_address: str | None) -> None:
        super().__init__(
            403,
            "Not available from this network",
            "This job can only be worked on from your organization's network, and your address "
            f"({client_address}) is outside it. Connect from that network and try again.",
            reason="source-ip",
        )


class UnreadableBody(PortalError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "Too much data" if status == 413 else "Unreadable request", message)


class BodyOverLimit(UnreadableBody):
    """413: the body is larger than `limit`; `so_far` holds what was read (to go on with a larger limit)."""

    def __init__(self, limit: int, so_far: list[bytes]) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.so_far = so_far


def bad_next() -> PortalError:
    return PortalError(
        400,
        "This link is not valid",
        "The address this link would take you to after signing in is not a page of "
        "this site. Sign in from the sign-in page instead.",
    )


def form_expired() -> PortalError:
    return PortalError(
        403,
        "Please try again",
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
    )


def session_ended() -> PortalError:
    return PortalError(401, "Signed out", "Your session has ended; sign in again.", next=urls.SIGNIN)


def frame_link_expired() -> PortalError:
    return PortalError(403, "Task", "This link has expired. Reload the page.")


@dataclass(frozen=True)
class Answer:
    """What to answer: the message page (status, title, message), the JSON body and its status for JSON
    requests, and what a task frame shows."""

    status: int
    title: str
    message: str
    json: dict[str, Any]
    json_status: int
    frame_title: str
    frame_message: str
    headers: dict[str, str] = field(default_factory=dict)
    logged: bool = False  # an unexpected exception: log it with its traceback


_UNAVAILABLE_TITLE = "Temporarily unavailable"
_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Try again in a few seconds."
_FAILED_TITLE = "Something went wrong"
_FAILED_MESSAGE = "Something went wrong on our side. Try again; if it keeps happening, tell the requester."
_NOT_YOURS = "There is nothing here, or it is not yours to see."
_NOT_FOUND_TITLES = {"invitation": "Invitation not valid"}  # NotFound kinds whose message the page shows
_OUTSIDE_NETWORK_FRAME = "This job can only be worked on from your organization's network."


def describe(exc: BaseException, path_params: dict[str, Any]) -> Answer:
    """The answer for `exc`, raised while answering a request with these path parameters."""
    if isinstance(exc, OutsideNetwork):
        return _answer(exc.status, exc.title, exc.message, frame_message=_OUTSIDE_NETWORK_FRAME, **exc.extra)
    if isinstance(exc, PortalError):
        return _answer(exc.status, exc.title, exc.message, **exc.extra)
    if isinstance(exc, TaskUnavailable):
        return _task_unavailable(exc, path_params)
    if isinstance(exc, NotFound):
        title = _NOT_FOUND_TITLES.get(exc.kind)
        return _answer(404, title or "Not found", exc.message if title else _NOT_YOURS)
    if isinstance(exc, Unavailable):  # logged where it was detected (the store, the blob store)
        answer = _answer(503, _UNAVAILABLE_TITLE, _UNAVAILABLE_MESSAGE, frame_title=_UNAVAILABLE_TITLE)
        return replace(answer, headers={"Retry-After": str(exc.retry_after_seconds)})
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        return _answer(404, "Not found", "There is nothing here.")
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return _answer(405, "Not allowed", "Not allowed.")
    return replace(_answer(500, _FAILED_TITLE, _FAILED_MESSAGE, frame_title=_FAILED_TITLE), logged=True)


def _task_unavailable(exc: TaskUnavailable, path_params: dict[str, Any]) -> Answer:
    """A lease that ended: the task page says why; a JSON request (submit) gets 409 and the task's path."""
    extra = {"reason": exc.reason}
    if "assignment" in path_params:
        extra["next"] = urls.task(path_params["assignment"])
    elif "check" in path_params:  # a gold item's task (urls.GOLD_TASK)
        extra["next"] = urls.task(path_params["check"], gold=True)
    if exc.reason == "not-yours":
        return _answer(404, "Not found", _NOT_YOURS, frame_message=exc.message, json_message=exc.message, **extra)
    if exc.reason == "expired":
        title = "Time is up"
        message = (
            "The time limit for this task ran out before it was submitted, so it went "
            "back to the queue. Your answer was not saved."
        )
    else:
        title = "This task is no longer available"
        message = "The requester stopped or removed this task, or you already finished with it."
    answer = _answer(410, title, message, frame_message=exc.message, json_message=exc.message, **extra)
    return replace(answer, json_status=409)


def _answer(
    status: int,
    title: str,
    message: str,
    *,
    frame_title: str = "Task",
    frame_message: str = "",
    json_message: str = "",
    **extra: str,
) -> Answer:
    return Answer(
        status,
        title,
        message,
        json={"error": json_message or message, **extra},
        json_status=status,
        frame_title=frame_title,
        frame_message=frame_message or message,
    )
