"""Template preview for authors: one self-contained HTML page showing a worker template rendered with an
input, live, as a worker would see it.

`preview_page(template, input_json)` renders the template the way RenderUiTemplate and the worker
portal do (`crowdloop.liquid.render_task`, `task.input` = the parsed JSON, autoescaped) and returns a
page with

* the errors list (input that is not JSON, Liquid errors, the template checks' warnings as
  `TemplateCheck`: see `crowdloop lint`; "No errors" otherwise),
* the task in `<iframe sandbox="allow-scripts allow-forms" srcdoc=...>` — the portal's sandbox — with
  crowdloop's crowd HTML elements inlined in place of AWS's script tags (so it works from a file,
  offline), and
* the answer panel: Submit posts the answer the portal would store; it is shown as JSON.

`grant_read_access` turns `s3://bucket/key` into a `data:` URL: the file `MEDIA_ROOT/bucket/key` when
`media_root` is given and it exists, else a placeholder of the same kind (picture, silence, page).
Other URLs (https media, CDN libraries) are left alone: the author's browser loads them.

CLI: `crowdloop preview TEMPLATE.html --input INPUT.json --out preview.html [--media-root DIR]`.
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crowdloop.config import load_settings
from crowdloop.gallery import placeholder_media
from crowdloop.liquid import RenderLimits, render_task
from crowdloop.liquid.budget import DEFAULT_LIMITS
from crowdloop.portal.assets import IMAGE_PLACEHOLDER, crowd_elements_script
from crowdloop.templatecheck import check_template

_CROWD_SCRIPT = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//assets\.crowd\.aws/"""
    r"""(?:crowd-html-elements(?:-v2s?)?|gen-ai-components)\.js["']?[^>]*>\s*</script\s*>""",
    re.I,
)
_CROWD_CSS = re.compile(
    r"""<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//assets\.crowd\.aws/css/[^"'\s>]*["']?[^>]*>""", re.I
)
_CROWD_IMAGE = re.compile(r"""(?:https?:)?//assets\.crowd\.aws/images/[^"'\s<>)]+""", re.I)
SANDBOX = "allow-scripts allow-forms"


def _data_url(body: bytes, content_type: str) -> str:
    return f"data:{content_type.split(';', 1)[0]};base64,{base64.b64encode(body).decode()}"


def media_granter(media_root: Path | None = None) -> Callable[[str], str]:
    """grant_read_access for previews: S3 URI -> data: URL (local file under media_root, or a placeholder)."""
    cache: dict[str, str] = {}

    def grant(uri: str) -> str:
        if uri in cache:
            return cache[uri]
        url = uri  # already a URL: the browser fetches it
        rest = uri.split("://", 1)[1] if uri.startswith("s3://") else None
        local = (media_root / rest).resolve() if media_root is not None and rest else None
        inside = local is not None and media_root is not None and local.is_relative_to(media_root.resolve())
        if local is not None and inside and local.is_file():
            content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            url = _data_url(local.read_bytes(), content_type)
        elif rest is not None:
            url = _data_url(*placeholder_media(uri))
        cache[uri] = url
        return url

    return grant


def task_document(rendered: str) -> str:
    """The frame's document: the rendered template with the crowd elements bundle inlined."""
    bundle = crowd_elements_script().decode("utf-8").replace("</script", "<\\/script")
    inline = f"<script>/* crowdloop crowd HTML elements */\n{bundle}\n</script>"
    # with or without AWS's script tag, the elements are defined before the template's markup
    body = _CROWD_SCRIPT.sub("", rendered)
    body = _CROWD_CSS.sub("", body)
    body = _CROWD_IMAGE.sub(_data_url(IMAGE_PLACEHOLDER, "image/svg+xml"), body)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<style>body{margin:16px;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;'
        "color:#1b1f24}</style>"
        f"{inline}</head><body>\n{body}\n</body></html>\n"
    )


_PAGE_CSS = """
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f8fa}
header{padding:12px 20px;background:#fff;border-bottom:1px solid #d5dbdb;display:flex;flex-wrap:wrap;gap:12px;
 align-items:center}
header h1{font-size:1.1rem;margin:0;flex:1 1 auto}
header code{font-size:.9rem}
main{display:grid;grid-template-columns:minmax(0,1fr) 360px;gap:16px;padding:16px 20px}
@media (max-width:1000px){main{grid-template-columns:minmax(0,1fr)}}
iframe{width:100%;height:80vh;border:1px solid #d5dbdb;border-radius:8px;background:#fff}
section.side{display:flex;flex-direction:column;gap:12px}
.panel{background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:10px 14px}
.panel h2{font-size:1rem;margin:0 0 6px}
.errors li{color:#b42318}
.ok{color:#1d6b2f}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem;max-height:50vh;overflow:auto;margin:0}
button{font:inherit;padding:6px 14px;border-radius:16px;border:2px solid #0b63c5;background:#fff;color:#0b63c5;
 font-weight:600;cursor:pointer}
button.primary{background:#0b63c5;color:#fff}
button:focus-visible{outline:3px solid #0b63c5;outline-offset:2px}
#status{color:#545b64}
"""

_PAGE_SCRIPT = """
(function () {
  var frame = document.getElementById('task');
  var answer = document.getElementById('answer');
  var status = document.getElementById('status');
  var source = frame.getAttribute('srcdoc');
  window.addEventListener('message', function (ev) {
    if (ev.source !== frame.contentWindow) return;
    var d = ev.data;
    if (!d || typeof d !== 'object' || d.crowdloop !== 1) return;
    if (d.type === 'ready') status.textContent = 'Task ready.';
    else if (d.type === 'invalid') status.textContent = 'Not submitted: ' + d.message;
    else if (d.type === 'submit') {
      answer.textContent = JSON.stringify(d.answer, null, 2);
      status.textContent = 'Submitted: this is the answerContent the portal would store.';
    }
  });
  document.getElementById('submit').addEventListener('click', function () {
    frame.contentWindow.postMessage({crowdloop: 1, type: 'submit-request'}, '*');
  });
  document.getElementById('reload').addEventListener('click', function () {
    answer.textContent = '(not submitted yet)';
    status.textContent = 'Reloading\\u2026';
    frame.setAttribute('srcdoc', source);
  });
})();
"""


def template_checks(template: str, task_input: Any, limits: RenderLimits) -> list[tuple[str, str]]:
    """The template checks' warnings (crowdloop.templatecheck; `crowdloop lint` prints them all) as
    ("TemplateCheck", "WARNING line N: ...") pairs. Syntax and render errors are left out: the render
    reports them. An empty input ({}) is checked with one made up from the template's expressions."""
    found = check_template(template, task_input or None, limits=limits)
    return [("TemplateCheck", f.describe()) for f in found if f.alarming and f.code not in ("syntax", "render")]


def preview_page(
    template: str,
    input_json: str,
    *,
    title: str = "template",
    media_root: Path | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> tuple[str, list[tuple[str, str]]]:
    """Render `template` with `input_json` (the StartHumanLoop InputContent / RenderUiTemplate Task.Input
    string) within the render budget `limits`, and return (the preview page, the errors as (code, message)
    pairs)."""
    errors: list[tuple[str, str]] = []
    try:
        task_input: Any = json.loads(input_json) if input_json.strip() else {}
    except ValueError as exc:
        errors.append(("ValidationException", f"The value at 'task.input' is not valid JSON: {exc}"))
        task_input = {}
    result = render_task(template, task_input, grant_read_access=media_granter(media_root), limits=limits)
    errors += [(e.code, e.message) for e in result.errors]
    errors += template_checks(template, task_input, limits)
    frame = task_document(result.html)
    if errors:
        items = "".join(
            f"<li><strong>{html.escape(code)}</strong>: {html.escape(message)}</li>" for code, message in errors
        )
        error_html = f'<ul class="errors" id="errors">{items}</ul>'
    else:
        error_html = '<p class="ok" id="errors">No errors.</p>'
    page = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Preview: {html.escape(title)}</title><style>{_PAGE_CSS}</style></head><body>"
        f"<header><h1>Preview of <code>{html.escape(title)}</code></h1>"
        f'<button type="button" id="submit" class="primary">Submit</button>'
        f'<button type="button" id="reload">Reload task</button></header>'
        f'<main><iframe id="task" title="Task" sandbox="{SANDBOX}" '
        f'srcdoc="{html.escape(frame, quote=True)}"></iframe>'
        f'<section class="side"><div class="panel"><h2>Errors</h2>{error_html}</div>'
        f'<div class="panel"><h2>Answer</h2><p id="status" role="status">Loading\u2026</p>'
        f'<pre id="answer">(not submitted yet)</pre></div></section></main>'
        f"<script>{_PAGE_SCRIPT}</script></body></html>\n"
    )
    return page, errors


@click.command("preview")
@click.argument("template_file", metavar="TEMPLATE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--input",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with task.input (the loop's InputContent); default {}.",
)
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the preview page.",
)
@click.option(
    "--media-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="s3://bucket/key is read from MEDIA_ROOT/bucket/key when that file exists.",
)
def preview(template_file: Path, input_file: Path | None, out_file: Path, media_root: Path | None) -> None:
    """Write an HTML page that shows TEMPLATE rendered with --input, live, with its errors and the answer
    Submit produces. The errors include the template checks' warnings (`crowdloop lint`). Exits 1 when there
    are errors (the page is written anyway)."""
    template = template_file.read_text(encoding="utf-8")
    input_json = input_file.read_text(encoding="utf-8") if input_file else "{}"
    limits = RenderLimits(cpu_seconds=load_settings().render_time_limit_seconds)  # as the server renders
    page, errors = preview_page(template, input_json, title=template_file.name, media_root=media_root, limits=limits)
    out_file.write_text(page, encoding="utf-8")
    for code, message in errors:
        click.echo(f"{code}: {message}", err=True)
    click.echo(f"wrote {out_file}" + (f" ({len(errors)} error(s))" if errors else ""))
    if errors:
        raise SystemExit(1)
