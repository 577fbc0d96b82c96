"""The reaper: the periodic sweep that returns stalled work (app.py runs it every few seconds).

One write transaction does the work of the queue (queue.reap_work: expire overdue leases, withdraw leases
no longer workable, fail loops whose availability lifetime ended, stop Stopping loops nobody holds) and
purges the flow definitions being deleted (flows.purge_deleted_flow_definitions); the outputs of the loops it
stopped are due in the same transaction, and the output writer is woken after the commit. It sits above
queue.py and flows.py, so neither imports the other to be swept.
"""

from __future__ import annotations

import dataclasses

from crowdloop import eventlog, flows, output, queue
from crowdloop.queue import ReapReport
from crowdloop.runtime import Services


def reap(svc: Services) -> ReapReport:
    """Sweep once: leases and loops, then flow definitions being deleted; then wake the output writer."""
    with svc.store.write() as conn:
        report = queue.reap_work(conn, svc.clock.now())
        purged = flows.purge_deleted_flow_definitions(conn)
    with svc.store.write() as conn:  # the event log's retention: a bounded batch per sweep
        eventlog.prune(conn, svc.clock.now(), svc.settings.events_retention_days)
    written = output.after_commit(svc)
    if report.stopped_loops or report.failed_loops:
        eventlog.after_commit(svc)
    return dataclasses.replace(report, purged_flow_definitions=purged, outputs_written=written)
