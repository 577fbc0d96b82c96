"""Sign-in, sign-out, the job list and the invitation page."""

from __future__ import annotations

from starlette.responses import Response

from crowdloop import gold, invites, oidc, queue, urls, workers
from crowdloop.errors import InvalidInput
from crowdloop.portal.errors import bad_next
from crowdloop.portal.web import SESSION_COOKIE, Visit, next_path
from crowdloop.sessions import SESSION_MAX, end_session, start_session
from crowdloop.signin import Outcome, sign_in

NOTICES = {
    "released": "The task went back to the queue.",
    "declined": "You declined the task; it will not be offered to you again.",
}


def signin_form(visit: Visit) -> Response:
    target = next_path(visit.request.query_params.get("next"))
    if target is None:
        raise bad_next()
    if visit.session is not None:
        return visit.redirect(target)
    return _signin_page(visit, 200, "", None, target)


def _signin_page(visit: Visit, status: int, email: str, error: str | None, target: str) -> Response:
    """The sign-in form, with a "Sign in with <issuer host>" link per OIDC provider of the account's
    workforces, and after an OIDC worker's sign-out a link to their provider's LogoutEndpoint."""
    found = oidc.providers(visit.svc)
    hosts = [p.host for p in found]
    links = [
        {
            "url": urls.oidc_start(p.workforce_id, target),
            "label": p.host if hosts.count(p.host) == 1 else f"{p.host} ({p.workforce_name})",
        }
        for p in found
    ]
    signed_out = visit.request.query_params.get("signed_out", "")
    logout = next(
        ({"url": p.logout_url, "label": p.host} for p in found if p.logout_url and str(p.workforce_id) == signed_out),
        None,
    )
    return visit.page(
        "signin.html",
        status=status,
        title="Sign in",
        email=email,
        error=error,
        next=target,
        providers=links,
        logout=logout,
    )


def signin(visit: Visit) -> Response:
    email = str(visit.data.get("email", ""))[:320]
    password = str(visit.data.get("password", ""))[: invites.MAX_PASSWORD_LENGTH]
    target = next_path(str(visit.data.get("next", urls.HOME)))
    if target is None:
        raise bad_next()
    client = visit.request.client
    result = sign_in(visit.svc, email, password, client.host if client else "unknown")
    if result.outcome is Outcome.SIGNED_IN and result.worker_pk is not None:
        return _signed_in_response(visit, result.worker_pk, target)
    if result.outcome is Outcome.LIMITED:
        minutes = max(1, (result.retry_after_seconds + 59) // 60)
        error, status = (
            (f"Too many failed sign-in attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."),
            429,
        )
    elif result.outcome is Outcome.DISABLED:
        error, status = "This account is disabled. Ask your administrator to enable it.", 403
    else:
        error, status = "The email or password is not right.", 401
    response = _signin_page(visit, status, email, error, target)
    if result.outcome is Outcome.LIMITED:
        response.headers["Retry-After"] = str(result.retry_after_seconds)
    return response


def signout(visit: Visit) -> Response:
    """End the portal session. A worker of an OIDC provider lands on the sign-in page with a link to sign
    out of the provider too (its LogoutEndpoint)."""
    issuer = workers.issuer_of(visit.svc, visit.worker_pk)
    token = visit.request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(visit.svc, token)
    visit.cookies.append((SESSION_COOKIE, "", 0))
    if issuer:
        p = next((p for p in oidc.providers(visit.svc) if p.issuer == issuer and p.logout_url), None)
        if p is not None:
            return visit.redirect(urls.signin(signed_out=p.workforce_id))
    return visit.redirect(urls.signin())


def job_list(visit: Visit) -> Response:
    listed = queue.jobs_for_worker(visit.svc, visit.worker_pk)
    jobs = [job for job in listed if visit.may_work_on(job.flow_definition_id)]
    notice = NOTICES.get(visit.request.query_params.get("notice", ""))
    standings = gold.standings(visit.svc, visit.worker_pk, [job.flow_definition_id for job in jobs])
    return visit.page(
        "jobs.html",
        title="Jobs",
        jobs=jobs,
        gold_notes={flow_id: standing.message() for flow_id, standing in standings.items()},
        blocked={flow_id for flow_id, standing in standings.items() if standing.paused or standing.failed},
        notice=notice,
        duration=format_duration,
        elsewhere=len(listed) - len(jobs),
        address=visit.client_address,
    )


def invitation_form(visit: Visit) -> Response:
    """Choose a password (an unknown, used or expired link: NotFound, "Invitation not valid")."""
    email = invites.invitation_email(visit.svc, visit.request.path_params["token"])
    return _invitation_page(visit, 200, email, None)


def accept_invitation(visit: Visit) -> Response:
    token = visit.request.path_params["token"]
    password = str(visit.data.get("password", ""))
    email = invites.invitation_email(visit.svc, token)
    if password != str(visit.data.get("confirm", "")):
        return _invitation_page(visit, 400, email, "The two passwords are not the same.")
    try:
        worker = invites.accept_invitation(visit.svc, token, password)
    except InvalidInput as exc:  # the form again, saying what is wrong with the password
        return _invitation_page(visit, 400, email, exc.message)
    return _signed_in_response(visit, worker.id, urls.HOME)


def _invitation_page(visit: Visit, status: int, email: str, error: str | None) -> Response:
    return visit.page(
        "invite.html",
        status=status,
        title="Choose your password",
        email=email,
        error=error,
        min_length=invites.MIN_PASSWORD_LENGTH,
    )


def _signed_in_response(visit: Visit, worker_pk: int, target: str) -> Response:
    token, _session = start_session(visit.svc, worker_pk)
    visit.cookies.append((SESSION_COOKIE, token, int(SESSION_MAX.total_seconds())))
    return visit.redirect(target)


def format_duration(seconds: int) -> str:
    """600 -> '10 minutes', 5400 -> '1 hour 30 minutes', 45 -> '45 seconds'."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if n
    ]
    return " ".join(parts[:2]) or "0 seconds"
