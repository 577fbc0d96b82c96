"""Webhook target URLs (SSRF): only http(s) URLs with a host and no credentials, whose host resolves only to
public addresses unless private targets are allowed; each refusal names the URL part and the reason."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowdloop.config import Settings, load_settings
from crowdloop.errors import InvalidInput
from crowdloop.webhook_targets import address_problem, check_address, check_target_url


class FakeDns:
    """getaddrinfo for names we cannot register in real DNS; it records what it was asked."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.asked.append((host, port))
        assert kwargs == {"type": socket.SOCK_STREAM}
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.names[host]
        ]


DNS = FakeDns(
    {
        "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "internal.example.com": ["10.0.0.7"],
        "mixed.example.com": ["93.184.215.14", "192.168.1.20"],
        "metadata.example.com": ["169.254.169.254"],
        "empty.example.com": [],
    }
)


def _refusal(url: str, allow_private: bool = False) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_target_url(url, allow_private, field="endpointUrl", resolve=DNS)
    assert caught.value.field == "endpointUrl"
    assert caught.value.message.startswith("The endpointUrl")
    return caught.value


def test_public_http_and_https_urls_are_accepted_after_resolving_on_their_port() -> None:
    dns = FakeDns(DNS.names)
    check_target_url("https://hooks.example.com/crowdloop?x=1", False, resolve=dns)
    check_target_url("HTTP://Hooks.Example.com:8443/", False, resolve=dns)
    check_target_url("http://93.184.215.14/hook", False, resolve=dns)
    check_target_url("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook", False, resolve=dns)
    assert dns.asked == [("hooks.example.com", 443), ("hooks.example.com", 8443)]  # literals are not resolved


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/", "scheme is 'ftp'; webhooks use http or https"),
        ("file:///etc/passwd", "scheme is 'file'"),
        ("gopher://127.0.0.1:25/", "scheme is 'gopher'"),
        ("hooks.example.com/path", "scheme is missing"),
        ("", "must not be empty"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "spaces or control characters"),
        ("https://user:pw@hooks.example.com/", "must not contain credentials"),
        ("https://token@hooks.example.com/", "must not contain credentials"),
        ("https:///path-only", "has no host"),
        ("http://", "has no host"),
        ("https://hooks.example.com:99999/", "port is not a number"),
        ("https://hooks.example.com:http/", "port is not a number"),
        ("https://hooks.example.com:0/", "port must be from 1 to 65535"),
        ("https://[::1/", "is not a URL"),
    ],
)
def test_urls_of_the_wrong_form_are_refused_naming_the_part(url: str, message: str) -> None:
    assert message in _refusal(url).message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/", "127.0.0.1 is a loopback address"),
        ("http://127.9.9.9/", "a loopback address"),
        ("http://[::1]/", ":1 is a loopback address"),
        ("http://10.1.2.3/", "a private address"),
        ("http://172.16.0.1/", "a private address"),
        ("http://192.168.0.1/", "a private address"),
        ("http://[fd12:3456::1]/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[fe80::1%25eth0]/", "a link-local address"),
        ("http://224.0.0.251/", "a multicast address"),
        ("http://[ff02::1]/", "a multicast address"),
        ("http://0.0.0.0/", "an unspecified address"),
        ("http://[::]/", "an unspecified address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://255.255.255.255/", "a reserved address"),
        ("http://100.64.0.1/", "a non-public address"),  # carrier-grade NAT
        ("http://[::ffff:127.0.0.1]/", "a loopback address (127.0.0.1 inside an IPv6 address)"),
        ("http://[::ffff:10.0.0.1]/", "a private address (10.0.0.1 inside an IPv6 address)"),
        ("http://[::ffff:a9fe:a9fe]/", "a link-local address (169.254.169.254 inside an IPv6 address)"),
        ("http://[2002:c0a8:1::]/", "a private address (192.168.0.1 inside an IPv6 address)"),  # 6to4
    ],
)
def test_non_public_address_literals_are_refused_unless_allowed(url: str, reason: str) -> None:
    refusal = _refusal(url)
    assert reason in refusal.message
    assert "webhook_allow_private_targets" in refusal.message
    check_target_url(url, True, resolve=DNS)


def test_an_ipv4_mapped_public_address_is_public() -> None:
    check_target_url("http://[::ffff:93.184.215.14]/", False, resolve=DNS)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://internal.example.com/", "host 'internal.example.com' resolves to 10.0.0.7, which is a private"),
        ("https://mixed.example.com/", "host 'mixed.example.com' resolves to 192.168.1.20, which is a private"),
        ("https://metadata.example.com/", "resolves to 169.254.169.254, which is a link-local"),
    ],
)
def test_names_resolving_to_any_non_public_address_are_refused_unless_allowed(url: str, reason: str) -> None:
    assert reason in _refusal(url).message
    check_target_url(url, True, resolve=DNS)


@pytest.mark.parametrize("url", ["http://localhost:9000/", "http://2130706433/", "http://0x7f.1/", "http://127.1/"])
def test_names_and_numeric_spellings_of_loopback_are_refused_through_the_real_resolver(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"resolves to (127\.0\.0\.1|::1), which is a loopback address"):
        check_target_url(url, False)
    check_target_url(url, True)


def test_a_host_that_does_not_resolve_is_refused_even_when_private_targets_are_allowed() -> None:
    assert "host 'nowhere.example.com' cannot be resolved" in _refusal("https://nowhere.example.com/", True).message
    assert "resolves to no address" in _refusal("https://empty.example.com/", True).message


@settings(max_examples=300)
@given(st.ip_addresses())
def test_check_address_refuses_exactly_what_address_problem_names(address: Any) -> None:
    problem = address_problem(address)
    if problem is None:
        check_address(address, False)
        carries_ipv4 = address.version == 6 and bool(address.ipv4_mapped or address.sixtofour or address.teredo)
        assert address.is_global or carries_ipv4
    else:
        with pytest.raises(InvalidInput, match=re.escape(f"is {problem}")):
            check_address(address, False)
        assert not address.is_global or address.is_multicast or address.version == 6  # 6: by the IPv4 inside
    check_address(address, True)


def test_check_address_takes_the_text_of_a_connected_peer() -> None:
    check_address("93.184.215.14", False)
    with pytest.raises(InvalidInput, match="fe80::1 is a link-local address"):
        check_address("fe80::1%eth0", False)
    assert address_problem(ipaddress.ip_address("8.8.8.8")) is None


def test_private_targets_are_refused_by_default_and_the_setting_reads_true_and_false() -> None:
    assert Settings().webhook_allow_private_targets is False
    for text, value in (("true", True), ("1", True), ("Yes", True), ("false", False), ("0", False), ("off", False)):
        env = {"CROWDLOOP_WEBHOOK_ALLOW_PRIVATE_TARGETS": text}
        assert load_settings({}, env).webhook_allow_private_targets is value
    assert load_settings({"webhook_allow_private_targets": True}, {}).webhook_allow_private_targets is True
    with pytest.raises(ValueError, match=r"WEBHOOK_ALLOW_PRIVATE_TARGETS.*'maybe' is not a valid bool"):
        load_settings({}, {"CROWDLOOP_WEBHOOK_ALLOW_PRIVATE_TARGETS": "maybe"})
