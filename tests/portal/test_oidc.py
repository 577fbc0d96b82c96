"""Signing in through the workforce's OpenID Connect provider (SQLite and PostgreSQL), against a real test
provider served over HTTP on 127.0.0.1 (tests/portal/oidc_idp.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
import sqlalchemy as sa

from crowdloop import loops, workers, workforce
from crowdloop.clock import ManualClock
from crowdloop.model import HumanLoopStatus, WorkerStatus
from crowdloop.portal.oidc import STATE_COOKIE, STATE_SECONDS
from crowdloop.runtime import Services
from crowdloop.store.tables import portal_sessions
from crowdloop.store.tables import workers as workers_table
from tests.portal.kit import CALLER, PASSWORD, Browser, add_worker, make_job, output_of, start_loop
from tests.portal.oidc_idp import TestIdp

OpenBrowser = Callable[[], Browser]
REDIRECT_URI = "http://127.0.0.1:8080/signin/oidc/callback"  # settings.portal_url + the callback path
_LINK = re.compile(r'<a class="button secondary" href="([^"]+)">Sign in with ([^<]+)</a>')


@pytest.fixture
def idp(services: Services) -> Iterator[TestIdp]:
    provider = TestIdp(now=lambda: services.clock.now().timestamp()).start()
    yield provider
    provider.stop()


def _configure(services: Services, idp: TestIdp, **changes: object) -> workforce.Workforce:
    """Give the account's (default) workforce the provider's OidcConfig, as UpdateWorkforce does."""
    return workforce.update_workforce(services, CALLER, "default", oidc_config=idp.oidc_config(**changes))


@pytest.fixture
def oidc_workforce(services: Services, idp: TestIdp) -> workforce.Workforce:
    return _configure(services, idp)


def _begin(browser: Browser, next_path: str = "/") -> httpx.Response:
    """Open the sign-in page, follow its OIDC link: the portal's 303 to the AuthorizationEndpoint."""
    page = browser.get("/signin" + (f"?next={next_path}" if next_path != "/" else ""))
    link = _LINK.search(page.text)
    assert link, page.text
    response = browser.get(html.unescape(link.group(1)))
    assert response.status_code == 303, response.text
    return response


def _authorize(location: str) -> str:
    """What the browser does at the provider: the provider's redirect back (the callback URL)."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _callback(browser: Browser, callback_url: str) -> httpx.Response:
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    return browser.get(f"{parts.path}?{parts.query}")


def _sign_in(browser: Browser, next_path: str = "/") -> httpx.Response:
    return _callback(browser, _authorize(_begin(browser, next_path).headers["location"]))


def _oidc_worker(services: Services, idp: TestIdp, sub: str = "worker-7f3a") -> workers.Worker:
    with services.store.read() as conn:
        email = conn.execute(
            sa.select(workers_table.c.email).where(workers_table.c.issuer == idp.issuer, workers_table.c.sub == sub)
        ).scalar_one()
    return workers.get_worker(services, email)


def _session_count(services: Services) -> int:
    with services.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(portal_sessions)).scalar_one())


def _refused(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    assert "Sign-in failed" in response.text
    text = html.unescape(response.text)
    for fragment in fragments:
        assert fragment in text, text
    assert "crowdloop_session=" not in response.headers.get("set-cookie", "")


# --- the sign-in page and the authentication request -------------------------------------------------------


def test_sign_in_page_offers_the_provider_next_to_the_password_form(
    services: Services, open_browser: OpenBrowser, idp: TestIdp
) -> None:
    browser = open_browser()
    assert _LINK.search(browser.get("/signin").text) is None  # no OidcConfig yet: password form only
    _configure(services, idp)
    page = browser.get("/signin?next=/jobs/3/empty")
    assert '<label for="email">Email</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert '<button class="button primary" type="submit">Sign in</button>' in page.text
    link = _LINK.search(page.text)
    assert link and link.group(2) == "127.0.0.1"
    assert html.unescape(link.group(1)).endswith("?next=/jobs/3/empty")


def test_next_off_the_site_is_refused_before_the_provider(
    services: Services, open_browser: OpenBrowser, oidc_workforce: workforce.Workforce
) -> None:
    browser = open_browser()
    start = f"/signin/oidc/{oidc_workforce.id}"
    for target in ("/\t/evil.example/", "//evil.example", "/\\evil.example", "/x\r\nSet-Cookie: a=b", "/\x00"):
        response = browser.client.get(start, params={"next": target})
        assert response.status_code == 400, repr(target)
        assert "location" not in response.headers and STATE_COOKIE not in response.headers.get("set-cookie", "")
    response = browser.client.get(start, params={"next": "/jobs/3/empty"})
    assert response.status_code == 303 and STATE_COOKIE in response.headers["set-cookie"]


def test_authorization_request_carries_state_nonce_pkce_scope_and_extra_params(
    services: Services, open_browser: OpenBrowser, idp: TestIdp
) -> None:
    _configure(
        services, idp, Scope="openid groups", AuthenticationRequestExtraParams={"prompt": "login", "state": "attacker"}
    )
    browser = open_browser()
    response = _begin(browser)
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{idp.issuer}/authorize"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["response_type"] == "code" and params["client_id"] == idp.client_id
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "openid groups"
    assert params["prompt"] == "login"  # AuthenticationRequestExtraParams are added ...
    assert params["state"] != "attacker" and len(params["state"]) >= 20  # ... but never replace our own
    assert len(params["nonce"]) >= 20 and params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{STATE_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert f"Max-Age={STATE_SECONDS}" in cookie
    assert params["state"] not in cookie.split(";")[0].split("=", 1)[1].split(".")[1]  # the MAC, not the state


def test_default_scope(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    location = _begin(open_browser()).headers["location"]
    assert parse_qs(urlsplit(location).query)["scope"] == ["openid email profile"]


# --- signing in -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth_method", ["basic", "post"])
def test_sign_in_creates_the_worker_who_works_on_their_groups_jobs(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce, auth_method: str
) -> None:
    idp.auth_method = auth_method
    job = make_job(services, title="Raters only", groups=("raters",))
    other = make_job(services, title="Reviewers only", groups=("reviewers",))
    loop = start_loop(services, job)
    start_loop(services, other)
    browser = open_browser()
    response = _sign_in(browser, "/jobs/1/empty")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/jobs/1/empty"
    assert "crowdloop_session=" in response.headers["set-cookie"]
    assert f'{STATE_COOKIE}=""' in response.headers["set-cookie"]  # the state cookie is used up
    worker = _oidc_worker(services, idp)
    assert worker.groups == ("raters",) and worker.email == "jane@corp.example"
    assert worker.status is WorkerStatus.ACTIVE
    token_request = idp.token_requests[-1]
    assert token_request["redirect_uri"] == REDIRECT_URI and token_request["code_verifier"]
    jobs = browser.get("/")
    assert jobs.status_code == 200 and "jane@corp.example" in jobs.text
    assert "Raters only" in jobs.text and "Reviewers only" not in jobs.text
    assignment = browser.open_task(job.id)
    assert browser.submit(assignment, {"label": "cat"}).status_code == 200
    answer = output_of(services, loop)["humanAnswers"][0]
    assert answer["workerId"] == worker.worker_id
    assert answer["workerMetadata"]["identityData"] == {
        "identityProviderType": "Oidc",
        "issuer": idp.issuer,
        "sub": "worker-7f3a",
    }


def test_local_workers_keep_cognito_identity_data(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    job = make_job(services)
    loop = start_loop(services, job)
    add_worker(services, "local@example.org")
    browser = open_browser()
    assert browser.sign_in("local@example.org").status_code == 303
    assert browser.submit(browser.open_task(job.id), {"label": "x"}).status_code == 200
    identity = output_of(services, loop)["humanAnswers"][0]["workerMetadata"]["identityData"]
    assert identity["identityProviderType"] == "Cognito"
    assert identity["issuer"] == services.settings.portal_url


def test_every_sign_in_replaces_the_groups(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    raters = make_job(services, title="Raters job", groups=("raters",))
    reviewers = make_job(services, title="Reviewers job", groups=("reviewers",))
    start_loop(services, raters)
    start_loop(services, reviewers)
    assert _sign_in(open_browser()).status_code == 303
    first = _oidc_worker(services, idp)
    idp.user["sagemaker:groups"] = "reviewers"  # a single group may come as a string
    idp.user["email"] = "jane.doe@corp.example"
    browser = open_browser()
    assert _sign_in(browser).status_code == 303
    again = _oidc_worker(services, idp)
    assert again.id == first.id and again.worker_id == first.worker_id
    assert again.groups == ("reviewers",) and again.email == "jane.doe@corp.example"
    page = browser.get("/")
    assert "Reviewers job" in page.text and "Raters job" not in page.text
    idp.user.pop("sagemaker:groups")
    assert _sign_in(open_browser()).status_code == 303
    assert _oidc_worker(services, idp).groups == ()


def test_sign_in_with_other_groups_withdraws_the_held_task(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    job = make_job(services, title="Raters job", groups=("raters",))
    loop = start_loop(services, job)
    holder = open_browser()
    assert _sign_in(holder).status_code == 303
    holder.get("/")  # the job list: its CSRF token
    assignment = holder.open_task(job.id)
    frame_url = holder.frame_url(assignment)
    assert holder.client.get(frame_url).status_code == 200
    idp.user["sagemaker:groups"] = ["reviewers"]  # the same person signs in elsewhere, now a reviewer only
    assert _sign_in(open_browser()).status_code == 303
    page = holder.get(f"/tasks/{assignment}")
    assert page.status_code == 410 and "This task is no longer available" in page.text
    frame = holder.client.get(frame_url)
    assert frame.status_code == 410 and "This task is no longer available." in frame.text
    submitted = holder.submit(assignment, {"label": "late"})
    assert submitted.status_code == 409
    assert submitted.json() == {
        "error": "This task is no longer available.",
        "reason": "gone",
        "next": f"/tasks/{assignment}",
    }
    assert loops.describe_human_loop(services, CALLER, loop).status is HumanLoopStatus.IN_PROGRESS
    other = open_browser()
    add_worker(services, "rater@example.org")
    assert other.sign_in("rater@example.org").status_code == 303
    assert other.submit(other.open_task(job.id), {"label": "cat"}).status_code == 200  # the slot came back
    assert [a["answerContent"] for a in output_of(services, loop)["humanAnswers"]] == [{"label": "cat"}]


@pytest.mark.parametrize("claims_in", ["id_token", "userinfo"])
def test_claims_from_the_id_token_or_the_userinfo_endpoint(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce, claims_in: str
) -> None:
    idp.claims_in = claims_in
    idp.user = {
        "sub": "u1",
        "sagemaker-sub": "dash-sub",
        "sagemaker-groups": ["raters", "x" * 64],
        "sagemaker-client_id": idp.client_id,
    }
    assert _sign_in(open_browser()).status_code == 303
    worker = _oidc_worker(services, idp, "dash-sub")
    assert worker.groups == ("raters",)  # a name longer than 63 characters matches no team: dropped
    assert worker.email == "dash-sub@127.0.0.1"  # no email claim: the sub at the issuer's host


def test_unsigned_id_token_is_accepted_from_the_token_endpoint(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.unsigned, idp.claims_in = True, "id_token"
    assert _sign_in(open_browser()).status_code == 303


def test_email_of_another_worker_is_not_taken_over(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    local = add_worker(services, "jane@corp.example", groups=("local",))
    assert _sign_in(open_browser()).status_code == 303
    worker = _oidc_worker(services, idp)
    assert worker.id != local.id and worker.email == "worker-7f3a@127.0.0.1"
    assert workers.get_worker(services, "jane@corp.example").groups == ("local",)
    browser = open_browser()  # and the OIDC worker has no password to sign in with
    assert browser.sign_in(worker.email, PASSWORD).status_code == 401


# --- refusals ---------------------------------------------------------------------------------------------


def test_state_must_be_the_one_this_browser_started(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce, clock: ManualClock
) -> None:
    browser = open_browser()
    callback = _authorize(_begin(browser).headers["location"])
    tampered = re.sub(r"state=[^&]+", "state=forged", callback)
    _refused(_callback(browser, tampered), 400, "not started in this browser")
    # another browser (the attacker's code and state, the victim's browser): no state cookie there
    attacker = open_browser()
    callback = _authorize(_begin(attacker).headers["location"])
    _refused(_callback(open_browser(), callback), 400, "not started in this browser")
    # too late
    late = open_browser()
    callback = _authorize(_begin(late).headers["location"])
    clock.advance(STATE_SECONDS + 1)
    _refused(_callback(late, callback), 400, "took longer than")
    # a forged cookie
    forged = open_browser()
    callback = _authorize(_begin(forged).headers["location"])
    value = forged.client.cookies[STATE_COOKIE]
    forged.client.cookies.set(STATE_COOKIE, value[:-4] + "0000", domain="portal.test")
    _refused(_callback(forged, callback), 400, "not started in this browser")
    assert _session_count(services) == 0


def test_state_cookie_works_once(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    browser = open_browser()
    callback = _authorize(_begin(browser).headers["location"])
    assert _callback(browser, callback).status_code == 303
    _refused(_callback(browser, callback), 400, "not started in this browser")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"iss": "https://evil.example"}, "not by the workforce's Issuer"),
        ({"aud": "another-client"}, "not meant for this workforce's ClientId"),
        ({"aud": ["another-client", "crowdloop-portal"], "azp": "another-client"}, "issued to another client"),
        ({"nonce": "replayed"}, "nonce"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"exp": None}, "no expiry"),
    ],
)
def test_id_token_checks(
    services: Services,
    open_browser: OpenBrowser,
    idp: TestIdp,
    oidc_workforce: workforce.Workforce,
    override: dict[str, object],
    message: str,
) -> None:
    idp.id_token_overrides = override
    _refused(_sign_in(open_browser()), 403, message)
    assert _session_count(services) == 0


def test_id_token_with_a_wrong_hs256_signature_is_refused(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.sign_with = "not the client secret"
    _refused(_sign_in(open_browser()), 403, "signature")


def test_audience_list_with_the_client_id_is_accepted(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.id_token_overrides = {"aud": ["other", idp.client_id], "azp": idp.client_id}
    assert _sign_in(open_browser()).status_code == 303


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sagemaker:groups": ["raters"]}, "did not send the sagemaker:sub claim"),
        ({"sagemaker:sub": "", "sagemaker:groups": ["raters"]}, "sagemaker:sub"),
        ({"sagemaker:sub": "s", "sagemaker:client_id": "other"}, "is not the workforce's ClientId"),
        ({"sagemaker:sub": "s", "sagemaker:groups": {"a": 1}}, "must be a string or a list of strings"),
    ],
)
def test_missing_or_wrong_sagemaker_claims_are_refused(
    services: Services,
    open_browser: OpenBrowser,
    idp: TestIdp,
    oidc_workforce: workforce.Workforce,
    claims: dict[str, object],
    message: str,
) -> None:
    idp.user = {"sub": "u1", **claims}
    _refused(_sign_in(open_browser()), 403, message)
    with services.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(workers_table)).scalar_one() == 0


def test_userinfo_of_another_user_is_refused(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.id_token_overrides = {"sub": "someone-else"}
    _refused(_sign_in(open_browser()), 403, "describes another user")


def test_disabled_worker_is_refused(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    assert _sign_in(open_browser()).status_code == 303
    worker = _oidc_worker(services, idp)
    workers.set_status(services, worker.email, WorkerStatus.DISABLED)
    idp.user["sagemaker:groups"] = ["admins"]
    _refused(_sign_in(open_browser()), 403, "disabled")
    assert _oidc_worker(services, idp).groups == ("raters",)  # untouched
    workers.set_status(services, worker.email, WorkerStatus.ACTIVE)
    assert _sign_in(open_browser()).status_code == 303


def test_token_endpoint_errors_are_shown(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.token_error = "invalid_grant"
    _refused(_sign_in(open_browser()), 403, "TokenEndpoint refused", "invalid_grant", "refused by the test IdP")
    idp.token_error = None
    idp.client_secret = "rotated at the provider"
    _refused(_sign_in(open_browser()), 403, "invalid_client")


def test_provider_error_answer_is_shown(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    browser = open_browser()
    _begin(browser)
    response = browser.get("/signin/oidc/callback?error=access_denied&error_description=Not+in+the+app")
    _refused(response, 403, "access_denied", "Not in the app")


def test_unreachable_provider_gives_a_clear_page(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    browser = open_browser()
    callback = _authorize(_begin(browser).headers["location"])
    idp.stop()
    _refused(_callback(browser, callback), 502, "Could not reach the identity provider", f"{idp.issuer}/token")


def test_unknown_workforce_link(services: Services, open_browser: OpenBrowser) -> None:
    response = open_browser().get("/signin/oidc/999")
    assert response.status_code == 404 and "Sign-in option not available" in response.text


# --- signing out ------------------------------------------------------------------------------------------


def test_sign_out_offers_the_logout_endpoint(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    browser = open_browser()
    assert _sign_in(browser).status_code == 303
    browser.get("/")
    response = browser.post("/signout")
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?signed_out={oidc_workforce.id}"
    assert _session_count(services) == 0
    page = browser.get(response.headers["location"])
    assert "You are signed out of crowdloop" in page.text
    assert f'href="{idp.issuer}/logout?client_id={idp.client_id}"' in page.text
    assert browser.get("/").headers["location"] == "/signin?next=/"


def test_local_worker_sign_out_has_no_provider_link(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    add_worker(services, "local@example.org")
    browser = open_browser()
    assert browser.sign_in("local@example.org").status_code == 303
    assert browser.post("/signout").headers["location"] == "/signin"


@pytest.mark.parametrize("claims_in", ["id_token", "userinfo"])
def test_sub_claim_the_database_cannot_hold_is_refused(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce, claims_in: str
) -> None:
    idp.claims_in = claims_in
    idp.user = {"sub": "u1", "sagemaker:sub": "worker-\x00", "sagemaker:groups": ["raters"]}
    _refused(_sign_in(open_browser()), 403, "NUL character or an unpaired surrogate")


def test_other_claims_the_database_cannot_hold_are_left_out(
    services: Services, open_browser: OpenBrowser, idp: TestIdp, oidc_workforce: workforce.Workforce
) -> None:
    idp.user = {
        "sub": "u1",
        "sagemaker:sub": "worker-odd",
        "sagemaker:groups": ["raters", "bad\x00"],
        "sagemaker:name": "Ja\x00ne",
        "email": "jane\x00@corp.example",
    }
    assert _sign_in(open_browser()).status_code == 303
    worker = _oidc_worker(services, idp, "worker-odd")
    assert worker.groups == ("raters",)
    assert "\x00" not in worker.email
