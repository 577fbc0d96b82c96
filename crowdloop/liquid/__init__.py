"""Liquid rendering of A2I worker templates (spec §8), shared by RenderUiTemplate and the worker portal.

    check_template(template)                  -> list[RenderError]   parse only
    render_task(template, task_input, *, grant_read_access=None, limits=RenderLimits()) -> RenderResult
    threads.RenderThreads().run(function, *args)  where the server's renders run (worker threads)
    references.input_references(template)     -> list[Reference]    the task.input paths it reads, by line

Modules: `render` (API, template cache, error codes), `environment` (python-liquid set-up, output
statements, error collection), `budget` (the render budget: steps, CPU time, size), `threads`
(renders off the event loop), `filters` (A2I filters), `text` (escaping and JSON), `session`
(per-render state), `references` (static reading of the template's task.input paths: the template checks).
"""

from crowdloop.liquid.budget import RenderLimits
from crowdloop.liquid.render import RenderError, RenderResult, check_template, render_task

__all__ = ["RenderError", "RenderLimits", "RenderResult", "check_template", "render_task"]
