"""The template checks in the export's problem report: for each store source, the flow definition's template
is checked (crowdloop.templatecheck) with the input of its first loop read and the mapping the export used
for it (the given one, or the one detected for the flow). What the workers were shown is what the answers
cannot tell, so two findings become problems, one per flow definition, that drop nothing (ProblemLog.note):

    template never shows taskObject.responses[2] (response_3_ranking)   the export pairs that answer field
                                                                         with a text no worker saw
    template shows taskObject.responses[1] 2 times                       a worker saw the same response twice

The rest (fields the mapping reads for no response...) shows in the answers themselves, which the mapping
reports one by one. Output.json sources (folders, S3) carry no template: nothing is checked for them.
The template engine is imported here only when a check runs (chunk processes never need it).
"""

from __future__ import annotations

from collections.abc import Sequence

from crowdloop.export.mapping import Detected, Mapping
from crowdloop.export.model import Problem
from crowdloop.export.sources import Source, StoreSource, parse_stored
from crowdloop.loops import loop_page

REPORTED = ("value-not-shown", "value-shown-twice")
_FIRST = (-(2**62), 0)  # the keyset position before every loop


def template_problems(sources: Sequence[Source], given: Mapping | None, detected: Detected) -> list[Problem]:
    """The template findings of each store source's flow definition read with a mapping, as problems."""
    found: list[Problem] = []
    for source in sources:
        if not isinstance(source, StoreSource):
            continue
        mapping = given or detected.by_flow.get(source.flow_name)
        if mapping is not None:
            found += _check(source, mapping)
    return found


def _check(source: StoreSource, mapping: Mapping) -> list[Problem]:
    from crowdloop import flows, templatecheck  # the template engine, only when a check runs

    with source.store.read() as conn:
        template = flows.template_content(conn, source.template_sha256)
        first = loop_page(conn, source.flow_id, source.statuses, _FIRST, 1)
    if template is None or not first:
        return []
    name, task_input = first[0][1], parse_stored(first[0][2])
    if not isinstance(task_input, dict):
        return []
    problems = []
    for finding in templatecheck.check_template(template, task_input, mapping=mapping):
        if finding.code in REPORTED:
            where = f" (template line {finding.line})" if finding.line else ""
            detail = f"{finding.message}{where}; checked with the input of loop {name}"
            problems.append(Problem(source.flow_name, None, finding.summary, detail))
    return problems
