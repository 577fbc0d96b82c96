"""The console's sandboxed frames: a submitted answer shown read-only in its task's template (the loop
page) and a template's preview with a sample input (the templates pages).

Both are the portal's task frame document (crowdloop.portal.taskui: the template with its asset URLs
pointed at our crowd elements bundle, the frame's Content-Security-Policy, sandboxed unless served on
task_frame_origin). An answer frame adds `<script type="application/json" id="crowdloop-answer">`, which
the bundle's 12-answer.js reads to fill and lock the form.

A sandboxed frame has an opaque origin and sends no cookies, so, as the portal's frame, it is authorised
by its URL: `?expires=<epoch>&token=<mac>`, an HMAC-SHA256 (key <data_dir>/keys/console-frames.key) over
what it shows (the assignment, or the task UI and the sample input), the account and the expiry, handed
out by a signed-in page and valid for FRAME_TOKEN_SECONDS. The frames are served on the frame host too
(crowdloop.dispatch), where the frame URLs point when task_frame_origin is set.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from crowdloop import flows, loops, loopsearch, urls
from crowdloop.console.web import Console, ConsoleError, ConsoleVisit, render_error
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.i18n import N_
from crowdloop.keyfiles import load_key
from crowdloop.portal.static import CROWD_CSS, CROWD_SCRIPT, load_assets
from crowdloop.portal.taskui import FRAME_SANDBOX, TaskUi
from crowdloop.portal.web import request_origin
from crowdloop.queue import Lease
from crowdloop.runtime import Caller, Services

FRAME_TOKEN_SECONDS = 300
MAX_SAMPLE_INPUT_BYTES = 16 * 1024  # a preview's sample input travels in the frame's URL
_MAX_TOKEN_CHARS = 128


@dataclass(frozen=True)
class FrameLink:
    url: str
    sandbox: str  # the iframe's sandbox attribute ("" when frames have an origin of their own)


class ConsoleFrames:
    """Signs frame URLs and builds the frame documents (one per console app: app.state.frames)."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._key = load_key(svc.settings.data_path, "console-frames.key")
        assets = load_assets(svc)
        self._taskui = TaskUi(svc, assets.url(CROWD_SCRIPT), assets.url(CROWD_CSS))

    # --- links (made by signed-in pages) ---

    def answer_link(self, caller: Caller, assignment_id: int) -> FrameLink:
        expires = self._expires()
        token = self._mac("answer", caller.account, str(assignment_id), str(expires))
        path = urls.fill(urls.CONSOLE_ANSWER_FRAME, assignment=assignment_id)
        return self._link(path, {"expires": expires, "token": token})

    def preview_link(self, caller: Caller, ui_name: str, sample_input: str) -> FrameLink:
        encoded = encode_input(sample_input)
        expires = self._expires()
        token = self._mac("preview", caller.account, ui_name, encoded, str(expires))
        path = urls.fill(urls.CONSOLE_PREVIEW_FRAME, ui=ui_name)
        return self._link(path, {"input": encoded, "expires": expires, "token": token})

    # --- documents (the frame requests) ---

    def answer_document(self, request: Request) -> Response:
        assignment_id = int(request.path_params["assignment"])
        account = self._verify(request, "answer", str(assignment_id))
        found = loopsearch.answer_in_account(self._svc, self._caller(account), assignment_id)
        if found is None:
            raise NotFound("answer", str(assignment_id))
        answer, input_content, template_sha256 = found
        now = self._svc.clock.now()
        lease = _shown(answer.assignment_id, answer.loop_id, input_content, template_sha256, now)
        lease = dataclasses.replace(lease, response_order=answer.response_order)  # as the worker saw it
        data = json.dumps(json.loads(answer.answer_content), ensure_ascii=True).replace("<", "\\u003c")
        data = data.replace(">", "\\u003e").replace("&", "\\u0026")
        answer_script = f'<script type="application/json" id="crowdloop-answer">{data}</script>\n'
        return self._document(request, lease, now, answer_script)

    def preview_document(self, request: Request) -> Response:
        ui_name = request.path_params["ui"]
        encoded = request.query_params.get("input", "")
        account = self._verify(request, "preview", ui_name, encoded)
        sample_input = decode_input(encoded)
        ui = flows.describe_human_task_ui(self._svc, self._caller(account), ui_name)
        now = self._svc.clock.now()
        return self._document(request, _shown(0, 0, sample_input, ui.template_sha256, now), now, "")

    # --- internals ---

    def _document(self, request: Request, lease: Lease, now: datetime, extra: str) -> Response:
        settings = self._svc.settings
        ancestor = settings.portal_url if settings.task_frame_origin else None
        document = self._taskui.document(lease, request_origin(request), now, ancestor=ancestor)
        html = document.html
        if extra:
            html = html.removesuffix("</body></html>\n") + extra + "</body></html>\n"
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": document.content_security_policy,
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
                "Cross-Origin-Resource-Policy": "same-origin",
            },
        )

    def _link(self, path: str, query: dict[str, object]) -> FrameLink:
        origin = self._svc.settings.task_frame_origin
        return FrameLink(f"{origin}{path}?{urlencode(query)}", "" if origin else FRAME_SANDBOX)

    def _expires(self) -> int:
        return int(self._svc.clock.now().timestamp()) + FRAME_TOKEN_SECONDS

    def _caller(self, account: str) -> Caller:
        return Caller(account=account, region=self._svc.settings.region)

    def _verify(self, request: Request, purpose: str, *values: str) -> str:
        """The account the frame URL was signed for; 403 when it is forged, altered or expired."""
        token = request.query_params.get("token", "")
        expires = request.query_params.get("expires", "")
        account = self._svc.settings.account_id
        if (
            len(token) <= _MAX_TOKEN_CHARS
            and expires.isdigit()
            and len(expires) <= 12
            and int(expires) >= self._svc.clock.now().timestamp()
            and hmac.compare_digest(self._mac(purpose, account, *values, expires), token)
        ):
            return account
        raise ConsoleError(403, N_("Link expired"), N_("This frame's link has expired. Reload the page."))

    def _mac(self, purpose: str, *values: str) -> str:
        message = "\n".join([purpose, *values]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:40]


def _shown(assignment_id: int, loop_id: int, input_content: str, template_sha256: str, now: datetime) -> Lease:
    """The task the frame shows, as the portal's renderer takes it (a lease that is nobody's: the grants
    of blob URLs in the template live as long as the frame's link)."""
    return Lease(
        assignment_id=assignment_id,
        worker_pk=0,
        loop_id=loop_id,
        human_loop_name="",
        human_loop_arn="",
        flow_definition_id=0,
        input_content=input_content,
        template_sha256=template_sha256,
        accepted_at=now,
        expires_at=now + timedelta(seconds=FRAME_TOKEN_SECONDS),
    )


def check_sample_input(text: str) -> str:
    """The sample input as the preview renders it: a JSON object within the task input's limits."""
    if len(text.encode()) > MAX_SAMPLE_INPUT_BYTES:
        raise InvalidInput(f"The sample input is larger than {MAX_SAMPLE_INPUT_BYTES // 1024} KiB.", "input")
    loops.parse_input_content(text)
    return text


def encode_input(text: str) -> str:
    return base64.urlsafe_b64encode(check_sample_input(text).encode()).decode().rstrip("=")


def decode_input(encoded: str) -> str:
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(N_("The sample input is not readable."), "input") from exc
    return check_sample_input(text)


def _frames(request: Request) -> ConsoleFrames:
    frames: ConsoleFrames = request.app.state.frames
    return frames


async def answer_frame(request: Request) -> Response:
    console: Console = request.app.state.console
    try:
        return await console.run(_frames(request).answer_document, request, slow=True)
    except Exception as exc:
        return render_error(ConsoleVisit(console, request), exc)


async def preview_frame(request: Request) -> Response:
    console: Console = request.app.state.console
    try:
        return await console.run(_frames(request).preview_document, request, slow=True)
    except Exception as exc:
        return render_error(ConsoleVisit(console, request), exc)


ROUTES = [
    Route(urls.CONSOLE_ANSWER_FRAME, answer_frame, methods=["GET"]),
    Route(urls.CONSOLE_PREVIEW_FRAME, preview_frame, methods=["GET"]),
]
