"""Sign-in, sign-out, the job list, the invitation page and the language switcher."""

from __future__ import annotations

from starlette.responses import Response

from crowdloop import gold, i18n, invites, oidc, queue, urls, workers
from crowdloop.errors import InvalidInput
from crowdloop.gold import Standing
from crowdloop.i18n import N_
from crowdloop.portal.errors import bad_next
from crowdloop.portal.web import SESSION_COOKIE, Visit, next_path
from crowdloop.sessions import SESSION_MAX, end_session, start_session
from crowdloop.signin import Outcome, sign_in

NOTICES = {
    "released": N_("The task went back to the queue."),
    "declined": N_("You declined the task; it will not be offered to you again."),
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
        title=visit._("Sign in"),
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
        wait = visit.language.duration(minutes * 60)
        error, status = visit._("Too many failed sign-in attempts. Try again in {wait}.", wait=wait), 429
    elif result.outcome is Outcome.DISABLED:
        error, status = visit._("This account is disabled. Ask your administrator to enable it."), 403
    else:
        error, status = visit._("The email or password is not right."), 401
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
        title=visit._("Jobs"),
        jobs=jobs,
        gold_notes={flow_id: standing_note(visit.language, standing) for flow_id, standing in standings.items()},
        blocked={flow_id for flow_id, standing in standings.items() if standing.paused or standing.failed},
        notice=visit._(notice) if notice else None,
        duration=visit.language.duration,
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
        return _invitation_page(visit, 400, email, visit._("The two passwords are not the same."))
    try:
        worker = invites.accept_invitation(visit.svc, token, password)
    except InvalidInput:  # the form again, saying what is wrong with the password (its length is all it checks)
        error = visit._(
            "A password must be {min} to {max} characters long.",
            min=invites.MIN_PASSWORD_LENGTH,
            max=invites.MAX_PASSWORD_LENGTH,
        )
        return _invitation_page(visit, 400, email, error)
    return _signed_in_response(visit, worker.id, urls.HOME)


def _invitation_page(visit: Visit, status: int, email: str, error: str | None) -> Response:
    return visit.page(
        "invite.html",
        status=status,
        title=visit._("Choose your password"),
        email=email,
        error=error,
        min_length=invites.MIN_PASSWORD_LENGTH,
    )


def _signed_in_response(visit: Visit, worker_pk: int, target: str) -> Response:
    token, _session = start_session(visit.svc, worker_pk)
    visit.cookies.append((SESSION_COOKIE, token, int(SESSION_MAX.total_seconds())))
    return visit.redirect(target)


def standing_note(language: i18n.Language, standing: Standing) -> str | None:
    """What the portal tells the worker about their qualification for a job (gold.Standing), or None."""
    _ = language.gettext
    if standing.paused:
        return _("You are paused for this job: your accuracy on check questions is below what it requires.")
    result = _(
        "{points} of {answered}",
        points=language.number(round(standing.gold_score_sum, 1)),
        answered=language.number(standing.gold_answered),
    )
    if standing.failed:
        return _("You did not pass the qualification for this job ({result}).", result=result)
    if standing.questions_left:
        n = standing.questions_left
        return language.ngettext(
            "Qualification: answer {n} question first.", "Qualification: answer {n} questions first.", n
        )
    if standing.qualification and standing.qualified:
        return _("You passed the qualification for this job ({result}).", result=result)
    return None


def switch_language(visit: Visit) -> Response:
    """GET /language?to=ko&next=/path: remember the worker's language in a cookie and go back to `next`.
    A GET is enough: it changes nothing on the server, only a preference cookie of this browser (another site
    could at most switch a worker's language), so it needs no CSRF token and works on every page, signed in
    or not. An unknown language forgets the preference (Accept-Language again)."""
    code = visit.request.query_params.get("to", "")
    target = next_path(visit.request.query_params.get("next")) or urls.HOME
    chosen = code if code in i18n.LANGUAGES else ""
    visit.cookies.append((i18n.COOKIE, chosen, i18n.COOKIE_MAX_AGE))
    return visit.redirect(target)
