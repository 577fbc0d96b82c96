"""Template preview (crowdloop preview): the page renders the template live in a sandboxed srcdoc frame
with the crowd elements inlined, lists the errors, and shows the answer a submit posts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import expect

from crowdloop.gallery import sample_png
from crowdloop.preview import SANDBOX, preview, preview_page
from tests.browser.harness import CORPUS, TaskPage

CLASSIFIER = "amazon-sagemaker-ground-truth-task-uis/text/sentiment-analysis.liquid.html"
PREVIEW_URL = "https://task.crowdloop.test/preview.html"


def open_preview(task: TaskPage, page_html: str) -> None:
    task.serve(PREVIEW_URL, page_html)
    task.page.goto(PREVIEW_URL)


def test_preview_renders_live_and_shows_the_answer(task: TaskPage, tmp_path: Path) -> None:
    template = CORPUS / CLASSIFIER
    input_file = CORPUS / "inputs" / (CLASSIFIER + ".json")
    out = tmp_path / "preview.html"
    result = CliRunner().invoke(preview, [str(template), "--input", str(input_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = task.page
    open_preview(task, out.read_text())
    expect(page.locator("#errors")).to_have_text("No errors.")
    frame_el = page.locator("iframe#task")
    assert frame_el.get_attribute("sandbox") == SANDBOX
    frame = page.frame_locator("iframe#task")
    expect(page.locator("#status")).to_have_text("Task ready.")
    options = frame.locator("crowd-classifier .option")
    expect(options.first).to_be_visible()  # the inlined elements upgraded the template's markup
    text = json.loads(input_file.read_text())["taskObject"]
    expect(frame.get_by_text(text)).to_be_visible()  # task.input rendered into the page
    # Submit without a choice: blocked, the reason is shown
    page.locator("button#submit").click()
    expect(page.locator("#status")).to_contain_text("Not submitted: Please complete the task")
    first = options.first.inner_text().split("\n")[0].strip()
    options.first.click()
    frame.get_by_role("button", name="Submit").click()  # the form's own button
    expect(page.locator("#status")).to_contain_text("Submitted")
    assert json.loads(page.locator("#answer").inner_text()) == {"sentiment": {"label": first}}
    # reload gives a fresh task
    page.locator("button#reload").click()
    expect(page.locator("#answer")).to_have_text("(not submitted yet)")
    expect(page.locator("#status")).to_have_text("Task ready.")


def test_preview_lists_errors(task: TaskPage) -> None:
    page_html, errors = preview_page(
        "<crowd-form>{{ task.input.x | no_such_filter }}</crowd-form>", "{bad json", title="broken.html"
    )
    assert [code for code, _ in errors] == ["ValidationException", "UndefinedFilter"]
    open_preview(task, page_html)
    items = task.page.locator("#errors li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("The value at 'task.input' is not valid JSON")
    expect(items.nth(1)).to_contain_text("UndefinedFilter")
    # the task still renders (empty input, the failing output left out), with its Submit button
    expect(task.page.frame_locator("iframe#task").get_by_role("button", name="Submit")).to_be_visible()


def test_preview_cli_exit_code_and_media(tmp_path: Path) -> None:
    media = tmp_path / "media" / "bucket" / "cats"
    media.mkdir(parents=True)
    picture = sample_png(32, 24)
    (media / "cat.png").write_bytes(picture)
    template = tmp_path / "t.html"
    template.write_text(
        '<crowd-form><img id="a" src="{{ task.input.a | grant_read_access }}">'
        '<img id="b" src="{{ task.input.b | grant_read_access }}">'
        '<crowd-input name="n"></crowd-input></crowd-form>'
    )
    data = tmp_path / "in.json"
    data.write_text(json.dumps({"a": "s3://bucket/cats/cat.png", "b": "s3://bucket/elsewhere/dog.jpg"}))
    out = tmp_path / "p.html"
    result = CliRunner().invoke(
        preview, [str(template), "--input", str(data), "--out", str(out), "--media-root", str(tmp_path / "media")]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert base64.b64encode(picture).decode() in page  # the local file, inlined
    assert "data:image/png;base64," in page  # and a placeholder for the missing one
    assert "src=&quot;https://assets.crowd.aws" not in page and "<script src" not in page  # the bundle is inlined
    template.write_text("{% if %}")
    result = CliRunner().invoke(preview, [str(template), "--out", str(out)])
    assert result.exit_code == 1
    assert "TemplateSyntaxError" in result.output
    assert out.exists()


def test_preview_renders_within_the_servers_render_budget(tmp_path: Path) -> None:
    template = tmp_path / "t.html"
    template.write_text("<p>shown?</p>{% for i in (1..900000) %}{% assign x = i %}{% endfor %}")
    out = tmp_path / "p.html"
    result = CliRunner(env={"CROWDLOOP_RENDER_TIME_LIMIT_SECONDS": "0.05"}).invoke(
        preview, [str(template), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert (
        "ResourceLimitExceeded: The template exceeded the render budget: more than 0.05 s of CPU time" in result.output
    )
    assert "shown?" not in out.read_text()
