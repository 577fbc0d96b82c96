"""Liquid rendering of A2I worker templates (spec §8), shared by RenderUiTemplate and the worker portal.

    check_template(template)                  -> list[RenderError]   parse only
    render_task(template, task_input, *, grant_read_access=None) -> RenderResult(html, errors)

Modules: `render` (API, template cache, error codes), `environment` (python-liquid set-up, output
statements, error collection), `filters` (A2I filters), `text` (escaping and JSON), `session`
(per-render state).
"""

from crowdloop.liquid.render import RenderError, RenderResult, check_template, render_task

__all__ = ["RenderError", "RenderResult", "check_template", "render_task"]
