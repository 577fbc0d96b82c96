"""auth = off: what stands in for signatures against web pages.

Without signatures any request that reaches the port is served, and a browser reaches it for any page it
shows: a cross-site form or `fetch(..., {mode: "no-cors"})` (a "simple request", sent without a CORS
preflight), or a page on a name the attacker's DNS points at 127.0.0.1 ("DNS rebinding", which makes the
attacker's page same-origin with the API). So, with auth = off, a request is refused when

* its `Host` is not one of the server's own names (`HostGuard.hosts`: host:port, public_host, 127.0.0.1,
  localhost and [::1] with the port, and `<bucket>.` any of those for S3 virtual-host addressing) -> 421;
* it says it comes from a page of another origin: an `Origin` header other than http(s)://<its Host>
  (`null` included), or `Sec-Fetch-Site: cross-site` / `same-site` -> 403.

SDKs and the CLI send neither Origin nor Sec-Fetch-Site, and address the server by the name they were given.
"""

from __future__ import annotations

from crowdloop.aws.errors import WireError
from crowdloop.aws.wire import Request
from crowdloop.config import Settings

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})


class HostGuard:
    def __init__(self, settings: Settings) -> None:
        port = str(settings.port)
        names = [f"{name}:{port}" for name in (settings.host, *_LOOPBACK)]
        if settings.public_host:
            names.append(settings.public_host)
        if port == "80":
            names += [settings.host, *_LOOPBACK]
        self.hosts = frozenset(name.lower() for name in names)

    def check(self, request: Request) -> None:
        """WireError 421 or 403 when the request must not be served without a signature (see above)."""
        host = request.header("host").strip().lower()
        if not self._ours(host):
            raise WireError(
                "MisdirectedRequestException",
                421,
                f"Host {host!r} is not a name of this server (auth = off answers only "
                f"{', '.join(sorted(self.hosts))}; set public_host to add one).",
            )
        origin = request.header("origin")
        if origin and origin.lower() not in (f"http://{host}", f"https://{host}"):
            raise WireError(
                "AccessDeniedException",
                403,
                f"Requests from web pages of other origins ({origin}) are refused (auth = off).",
            )
        if request.header("sec-fetch-site").strip().lower() in _FOREIGN_FETCH_SITES:
            raise WireError(
                "AccessDeniedException", 403, "Requests from web pages of other sites are refused (auth = off)."
            )

    def _ours(self, host: str) -> bool:
        # <bucket>.<our name>: S3 virtual-host addressing (no one else's DNS answers for names under ours)
        return host in self.hosts or any(host.endswith("." + name) for name in self.hosts)
