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
from crowdloop.i18n import N_, Language


class PortalError(Exception):
    """An answer the portal gives on purpose. title and message are English msgids (marked with N_), written
    in the request's language by `describe` with their {name} fields from `params`; `extra` goes into the
    JSON answer next to "error"."""

    def __init__(
        self, status: int, title: str, message: str, params: dict[str, Any] | None = None, **extra: str
    ) -> None:
        super().__init__(message.format(**params) if params else message)
        self.status = status
        self.title = title
        self.message = message
        self.params = params or {}
        self.extra = extra


class OutsideNetwork(PortalError):
    def __init__(self, client_address: str | None) -> None:
        super().__init__(
            403,
            N_("Not available from this network"),
            N_(
                "This job can only be worked on from your organization's network, and your address "
                "({address}) is outside it. Connect from that network and try again."
            ),
            {"address": client_address},
            reason="source-ip",
        )


class UnreadableBody(PortalError):
    def __init__(self, status: int, message: str, **params: Any) -> None:
        title = N_("Too much data") if status == 413 else N_("Unreadable request")
        super().__init__(status, title, message, params)


class BodyOverLimit(UnreadableBody):
    """413: the body is larger than `limit`; `so_far` holds what was read (to go on with a larger limit)."""

    def __init__(self, limit: int, so_far: list[bytes]) -> None:
        super().__init__(413, N_("The request body is larger than {limit} bytes."), limit=limit)
        self.so_far = so_far


def bad_next() -> PortalError:
    return PortalError(
        400,
        N_("This link is not valid"),
        N_(
            "The address this link would take you to after signing in is not a page of "
            "this site. Sign in from the sign-in page instead."
        ),
    )


def form_expired() -> PortalError:
    return PortalError(
        403,
        N_("Please try again"),
        N_("This form has expired or did not come from this site. Go back, reload the page and try again."),
    )


def session_ended() -> PortalError:
    return PortalError(401, N_("Signed out"), N_("Your session has ended; sign in again."), next=urls.SIGNIN)


def frame_link_expired() -> PortalError:
    return PortalError(403, N_("Task"), N_("This link has expired. Reload the page."))


@dataclass(frozen=True)
class Answer:
    """What to answer: the message page (status, title, message), the JSON body and its status for JSON
    requests, and what a task frame shows (all in the request's language)."""

    status: int
    title: str
    message: str
    json: dict[str, Any]
    json_status: int
    frame_title: str
    frame_message: str
    headers: dict[str, str] = field(default_factory=dict)
    logged: bool = False  # an unexpected exception: log it with its traceback


_UNAVAILABLE_TITLE = N_("Temporarily unavailable")
_UNAVAILABLE_MESSAGE = N_("The service is temporarily unavailable. Try again in a few seconds.")
_FAILED_TITLE = N_("Something went wrong")
_FAILED_MESSAGE = N_("Something went wrong on our side. Try again; if it keeps happening, tell the requester.")
_NOT_YOURS = N_("There is nothing here, or it is not yours to see.")
_INVITATION_TITLE = N_("Invitation not valid")
_INVITATION_MESSAGE = N_(
    "This invitation link is not valid: it was used already, has expired, or was replaced by a newer one. "
    "Ask for a new invitation."
)
_OUTSIDE_NETWORK_FRAME = N_("This job can only be worked on from your organization's network.")
_TASK_STATES = {  # what the frame and a JSON request say about a lease that ended, by TaskUnavailable.reason
    "not-yours": N_("This task is assigned to another worker."),
    "expired": N_("The time limit for this task has run out."),
    "gone": N_("This task is no longer available."),
}


def describe(exc: BaseException, path_params: dict[str, Any], language: Language | None = None) -> Answer:
    """The answer for `exc`, raised while answering a request with these path parameters, in `language`
    (English when None)."""
    lang = language or Language.of(None)
    if isinstance(exc, OutsideNetwork):
        frame_message = lang.gettext(_OUTSIDE_NETWORK_FRAME)
        return _answer(lang, exc.status, exc.title, exc.message, exc.params, frame_message=frame_message, **exc.extra)
    if isinstance(exc, PortalError):
        return _answer(lang, exc.status, exc.title, exc.message, exc.params, **exc.extra)
    if isinstance(exc, TaskUnavailable):
        return _task_unavailable(lang, exc, path_params)
    if isinstance(exc, NotFound):
        if exc.kind == "invitation":
            return _answer(lang, 404, _INVITATION_TITLE, _INVITATION_MESSAGE)
        return _answer(lang, 404, N_("Not found"), _NOT_YOURS)
    if isinstance(exc, Unavailable):  # logged where it was detected (the store, the blob store)
        title = lang.gettext(_UNAVAILABLE_TITLE)
        answer = _answer(lang, 503, _UNAVAILABLE_TITLE, _UNAVAILABLE_MESSAGE, frame_title=title)
        return replace(answer, headers={"Retry-After": str(exc.retry_after_seconds)})
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        return _answer(lang, 404, N_("Not found"), N_("There is nothing here."))
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return _answer(lang, 405, N_("Not allowed"), N_("Not allowed."))
    answer = _answer(lang, 500, _FAILED_TITLE, _FAILED_MESSAGE, frame_title=lang.gettext(_FAILED_TITLE))
    return replace(answer, logged=True)


def _task_unavailable(lang: Language, exc: TaskUnavailable, path_params: dict[str, Any]) -> Answer:
    """A lease that ended: the task page says why; a JSON request (submit) gets 409 and the task's path."""
    extra: dict[str, Any] = {"reason": exc.reason}
    if "assignment" in path_params:
        extra["next"] = urls.task(path_params["assignment"])
    elif "check" in path_params:  # a gold item's task (urls.GOLD_TASK)
        extra["next"] = urls.task(path_params["check"], gold=True)
    state = lang.gettext(_TASK_STATES.get(exc.reason, _TASK_STATES["gone"]))
    if exc.reason == "not-yours":
        return _answer(lang, 404, N_("Not found"), _NOT_YOURS, frame_message=state, json_message=state, **extra)
    if exc.reason == "expired":
        title = N_("Time is up")
        message = N_(
            "The time limit for this task ran out before it was submitted, so it went "
            "back to the queue. Your answer was not saved."
        )
    else:
        title = N_("This task is no longer available")
        message = N_("The requester stopped or removed this task, or you already finished with it.")
    answer = _answer(lang, 410, title, message, frame_message=state, json_message=state, **extra)
    return replace(answer, json_status=409)


def _answer(
    lang: Language,
    status: int,
    title: str,
    message: str,
    params: dict[str, Any] | None = None,
    *,
    frame_title: str = "",
    frame_message: str = "",
    json_message: str = "",
    **extra: Any,
) -> Answer:
    """title and message are msgids, written here in `lang`; the frame and JSON texts are written already."""
    title = lang.gettext(title)
    message = lang.gettext(message, **(params or {}))
    return Answer(
        status,
        title,
        message,
        json={"error": json_message or message, **extra},
        json_status=status,
        frame_title=frame_title or lang.gettext(N_("Task")),
        frame_message=frame_message or message,
    )
