"""Which URLs a webhook may be sent to (server-side request forgery).

A webhook's URL is chosen by whoever subscribes, and the server then calls it: without a rule, a subscriber
could make the server call services only it can reach (a database admin page on 127.0.0.1, a cloud metadata
endpoint on 169.254.169.254, a router on 192.168.0.1). `check_target_url` allows only http and https, with
a host and without credentials in the URL, and resolves the host: every address it resolves to must be
public. Loopback, private, link-local, multicast, unspecified, reserved and other non-global addresses
(IPv4 and IPv6, IPv4-mapped, 6to4 and Teredo IPv6 addresses by the IPv4 address they carry) are refused
unless the setting `webhook_allow_private_targets` allows them. Hosts are resolved, so numeric spellings
(`http://2130706433/`, `http://0x7f.1/`) and names pointing at private addresses are caught too.

A name may resolve differently later (DNS rebinding): delivery checks the address it connects to with
`check_address` as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

from crowdloop.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]
SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def address_problem(address: IPAddress) -> str | None:
    """Why the server must not call this address (e.g. 'a loopback address'), or None: it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} ({embedded} inside an IPv6 address)" if problem else None
    checks = (
        (address.is_unspecified, "an unspecified"),
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (address.is_reserved, "a reserved"),
        (address.is_private, "a private"),
        (not address.is_global, "a non-public"),
    )
    for hit, kind in checks:
        if hit:
            return f"{kind} address"
    return None


def check_address(address: str | IPAddress, allow_private: bool, field: str = "url", host: str = "") -> None:
    """Refuse (InvalidInput naming `field`) an address the server must not call, unless allow_private.
    `host` is the name it was resolved from, for the message."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    problem = address_problem(ip)
    if problem and not allow_private:
        where = f"host '{host}' resolves to {ip}, which" if host else f"host address {ip}"
        raise InvalidInput(
            f"The {field}'s {where} is {problem}; webhooks go to public addresses only "
            "(the setting webhook_allow_private_targets allows others).",
            field,
        )


def check_target_url(
    url: str, allow_private: bool, *, field: str = "url", resolve: Resolver = socket.getaddrinfo
) -> None:
    """Refuse (InvalidInput naming `field`, the URL part and the reason) a URL webhooks may not be sent to.

    `resolve` is socket.getaddrinfo (tests pass a stand-in for names they cannot register in DNS)."""
    parts = _split(url, field)
    host = parts.hostname
    if not host:
        raise InvalidInput(f"The {field} has no host: write it as http(s)://host[:port]/path.", field)
    port = _port(parts, field)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, allow_private, field)
        return
    try:
        found = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInput(f"The {field}'s host '{host}' cannot be resolved: {exc}.", field) from exc
    addresses = sorted({str(info[4][0]) for info in found})
    if not addresses:
        raise InvalidInput(f"The {field}'s host '{host}' resolves to no address.", field)
    for address in addresses:
        check_address(address, allow_private, field, host)


def _split(url: str, field: str) -> SplitResult:
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidInput(f"The {field} must not be empty or contain spaces or control characters.", field)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidInput(f"The {field} is not a URL: {exc}.", field) from exc
    if parts.scheme.lower() not in SCHEMES:
        shown = f"'{parts.scheme}'" if parts.scheme else "missing"
        raise InvalidInput(f"The {field}'s scheme is {shown}; webhooks use http or https.", field)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            f"The {field} must not contain credentials (user:password@); receivers verify the signature instead.",
            field,
        )
    return parts


def _port(parts: SplitResult, field: str) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"The {field}'s port is not a number from 0 to 65535.", field) from exc
    if port == 0:
        raise InvalidInput(f"The {field}'s port must be from 1 to 65535.", field)
    return port if port is not None else _DEFAULT_PORTS[parts.scheme.lower()]
