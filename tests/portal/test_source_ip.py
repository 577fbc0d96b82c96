"""SourceIpConfig: a workforce's CIDRs limit where its workers may work from (both backends)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from crowdloop import workforce
from crowdloop.portal.sourceip import address_allowed, networks_of
from crowdloop.runtime import Services
from tests.portal.kit import CALLER, Browser, add_worker, make_job, output_of, start_loop

INSIDE, OUTSIDE = "10.1.2.3", "203.0.113.7"


@pytest.fixture
def browsers(portal_app: Starlette) -> Iterator[dict[str, Browser]]:
    opened = {"inside": Browser(portal_app, INSIDE), "outside": Browser(portal_app, OUTSIDE)}
    yield opened
    for browser in opened.values():
        browser.close()


def _limit_to(services: Services, *cidrs: str) -> None:
    workforce.update_workforce(services, CALLER, workforce.DEFAULT_WORKFORCE, source_ip_config={"Cidrs": list(cidrs)})


def test_without_cidrs_every_address_may_work(services: Services, browsers: dict[str, Browser]) -> None:
    job = make_job(services, title="Open job")
    start_loop(services, job)
    add_worker(services, "anywhere@example.org")
    browser = browsers["outside"]
    browser.sign_in("anywhere@example.org")
    assert "Open job" in browser.get("/").text
    assert browser.start(job.id).status_code == 303


def test_outside_the_cidrs_the_job_is_hidden_and_refused(services: Services, browsers: dict[str, Browser]) -> None:
    _limit_to(services, "10.0.0.0/8", "192.168.1.0/24")
    job = make_job(services, title="Office job")
    name = start_loop(services, job, {"text": "Is the sky blue?"})
    add_worker(services, "office@example.org")
    outside, inside = browsers["outside"], browsers["inside"]
    outside.sign_in("office@example.org")
    jobs = outside.get("/")
    assert "Office job" not in jobs.text
    assert "1 job is only" in jobs.text and OUTSIDE in jobs.text
    refused = outside.start(job.id)
    assert refused.status_code == 403 and "Not available from this network" in refused.text

    inside.sign_in("office@example.org")
    assert "Office job" in inside.get("/").text
    assignment_id = inside.open_task(job.id)
    frame_url = inside.frame_url(assignment_id)
    assert inside.client.get(frame_url).status_code == 200

    # the same worker's lease, used from outside: page, frame and submit are refused, nothing is stored
    outside.leases[assignment_id] = inside.leases[assignment_id]
    assert outside.get(f"/tasks/{assignment_id}").status_code == 403
    assert outside.client.get(frame_url).status_code == 403
    refused_submit = outside.submit(assignment_id, {"label": "yes"})
    assert refused_submit.status_code == 403 and refused_submit.json()["reason"] == "source-ip"

    assert inside.submit(assignment_id, {"label": "yes"}).status_code == 200
    answers = output_of(services, name)["humanAnswers"]
    assert [a["answerContent"] for a in answers] == [{"label": "yes"}]


def test_address_matching() -> None:
    networks = networks_of({"SourceIpConfig": {"Cidrs": ["10.0.0.0/8", "2001:db8::/32"]}})
    assert address_allowed("10.255.0.1", networks)
    assert address_allowed("::ffff:10.0.0.9", networks)  # IPv4 seen through an IPv6 socket
    assert address_allowed("2001:db8::1", networks)
    assert not address_allowed("11.0.0.1", networks)
    assert not address_allowed("2001:db9::1", networks)
    assert not address_allowed("testclient", networks) and not address_allowed(None, networks)
    assert address_allowed("anything", networks_of({})) and address_allowed(None, networks_of(None))
