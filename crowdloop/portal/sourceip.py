"""SourceIpConfig: a workforce's `Cidrs` limit where its workers may work from.

A job (flow definition) belongs to a work team, which belongs to a workforce; when that workforce has
CIDRs, the portal lets a worker list, start, open, submit, release or decline the job's tasks only from
an address inside one of them (A2I answers workers outside with an access-denied page). A workforce
without CIDRs (the default) allows every address.

The ranges are read per job (workforce.job_workforce_config) and kept for REFRESH_SECONDS
(svc.caches[JOB_NETWORKS]), so an UpdateWorkforce takes effect within that time in every server process.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from crowdloop.caches import CacheSpec
from crowdloop.runtime import Services
from crowdloop.workforce import job_workforce_config

REFRESH_SECONDS = 5.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

JOB_NETWORKS: CacheSpec[int, tuple[Network, ...]] = CacheSpec(
    "source networks per job",
    "time to live REFRESH_SECONDS: an UpdateWorkforce by any process is seen within it",
    max_entries=4096,
    ttl_seconds=REFRESH_SECONDS,
)


def networks_of(config: Any) -> tuple[Network, ...]:
    """The networks of a workforce config's SourceIpConfig.Cidrs (none: no limit)."""
    cidrs = ((config or {}).get("SourceIpConfig") or {}).get("Cidrs") or []
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def address_allowed(address: str | None, networks: Iterable[Network]) -> bool:
    networks = tuple(networks)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)


class SourceIpRules:
    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._cache = svc.caches[JOB_NETWORKS]

    def allowed(self, flow_definition_id: int, address: str | None) -> bool:
        """Whether a worker at `address` may work on this job."""
        return address_allowed(address, self.networks(flow_definition_id))

    def networks(self, flow_definition_id: int) -> tuple[Network, ...]:
        cached = self._cache.get(flow_definition_id)
        if cached is not None:
            return cached
        networks = networks_of(job_workforce_config(self._svc, flow_definition_id))
        self._cache.put(flow_definition_id, networks)
        return networks
