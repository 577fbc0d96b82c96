"""Accessibility checks with axe-core (vendored in tests/browser/vendor/axe-core, MPL-2.0).

    assert_accessible(page)              run axe on the page as it is now; fail listing every violation
                                         of impact "serious" or "critical" (rule, impact, help, elements)

axe is evaluated in the page through Playwright's `page.evaluate` (the DevTools protocol), not a <script>
element: the portal's and the console's Content-Security-Policy forbid inline and foreign scripts, and they
stay in force while the check runs. The check runs in the top document only (axe does not enter the task
frame, a sandboxed document of the requester's template: crowdloop does not write those).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
# WCAG 2.x A and AA, and axe's best practices (landmarks, headings, region): what we promise in docs.
RUN_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page's current document, every impact."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;undefined")
    result = page.evaluate(
        """async (options) => {
            const results = await window.axe.run(document, Object.assign({iframes: false}, options));
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }""",
        RUN_OPTIONS,
    )
    return list(result)


def assert_accessible(page: Page, *, context: str = "") -> None:
    """Fail when axe finds a serious or critical violation on the page, naming each and its elements."""
    found = [v for v in violations(page) if v["impact"] in FAILING_IMPACTS]
    if found:
        lines = [f"{len(found)} serious/critical accessibility violation(s) on {context or page.url}:"]
        for violation in found:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} {violation['helpUrl']}")
            for node in violation["nodes"][:10]:
                summary = " ".join(str(node["summary"]).split())
                lines.append(f"    {node['target']}: {summary}")
        raise AssertionError("\n".join(lines))
