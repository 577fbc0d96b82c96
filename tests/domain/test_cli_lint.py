"""`crowdloop lint TEMPLATE [--input JSON|@FILE] [--mapping FILE]`: one finding per line, exit status 1 on an
error or warning, 0 when clean; no store needed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from crowdloop.cli import main
from crowdloop.preview import preview_page
from tests.domain.test_templatecheck import FIXED, SEED, THREE, template_line


def lint(*args: str) -> Result:
    return CliRunner().invoke(main, ["lint", *args])


def test_the_seed_template_fails_with_its_two_warnings(tmp_path: Path) -> None:
    template = tmp_path / "seed.html"
    template.write_text(SEED)
    result = lint(str(template))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        f"WARNING line {template_line(SEED, 'responses[1]', 2)}: taskObject.responses[1] is shown 2"
    )
    field_line = template_line(SEED, 'name="response_3_ranking"')
    assert lines[1] == (
        f"WARNING line {field_line}: taskObject.responses[2] is never shown, "
        "yet the answer field response_3_ranking refers to it: the export pairs response_3_ranking with a text no "
        "worker saw"
    )
    assert lines[2].startswith("INFO: answers read as the export does: convention seed") and len(lines) == 3
    assert not (tmp_path / "crowdloop-data").exists()


def test_a_clean_template_exits_0(tmp_path: Path) -> None:
    template = tmp_path / "fixed.html"
    template.write_text(FIXED)
    given = tmp_path / "input.json"
    given.write_text(json.dumps(THREE))
    for args in ([], ["--input", f"@{given}"], ["--input", json.dumps(THREE)]):
        result = lint(str(template), *args)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "ok"
        assert ("in the given input" in result.output) == bool(args)


def test_the_input_decides(tmp_path: Path) -> None:
    template = tmp_path / "fixed.html"
    template.write_text(FIXED)
    two = {"taskObject": {"prompt": "?", "responses": ["a", "b"]}}
    result = lint(str(template), "--input", json.dumps(two))
    assert result.exit_code == 1
    assert "form field response_3_ranking refers to taskObject.responses[2], which the input does not have" in (
        result.output
    )


def test_a_mapping_file_is_used(tmp_path: Path) -> None:
    template = tmp_path / "scores.html"
    template.write_text(
        "<crowd-form><p>{{ task.input.question }}</p><p>{{ task.input.answers[0] }}</p>"
        '<crowd-input name="score-1"></crowd-input><p>{{ task.input.answers[0] }}</p>'
        '<crowd-input name="score-2"></crowd-input></crowd-form>'
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'kind = "rating"\n[input]\nprompt = "question"\nresponses = "answers"\n[answer]\nfield = "score-{i}"\n'
    )
    assert lint(str(template)).exit_code == 0  # the export recognises no convention: nothing to check
    result = lint(str(template), "--mapping", str(mapping))
    assert result.exit_code == 1, result.output
    assert "answers[1] is never shown, yet the answer field score-2 refers to it" in result.output


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    template = tmp_path / "t.html"
    template.write_text("<p>\n{% if task.input.x %}</p>{% endfor %}")
    broken = lint(str(template))
    assert broken.exit_code == 1 and broken.output.startswith("ERROR line 2: the template does not parse")
    for value, says in (("[1]", "is not a JSON object"), ("{bad", "is not JSON"), ("@/no/such/file", "cannot read")):
        result = lint(str(template), "--input", value)
        assert result.exit_code == 2 and says in result.output, result.output
    assert lint(str(tmp_path / "missing.html")).exit_code == 2
    help_text = " ".join(lint("--help").output.split())
    assert "Exit status 1 when there is an error or a warning" in help_text and "--input JSON|@FILE" in help_text


def test_preview_lists_the_warnings(tmp_path: Path) -> None:
    page, errors = preview_page(SEED, json.dumps(THREE), title="seed.html")
    assert [code for code, _ in errors] == ["TemplateCheck", "TemplateCheck"]
    assert errors[1][1].startswith("WARNING line ") and "taskObject.responses[2] is never shown" in errors[1][1]
    assert "taskObject.responses[2] is never shown" in page  # in the page's errors list
    assert preview_page(FIXED, json.dumps(THREE))[1] == []
    assert preview_page(FIXED, "")[1] == []  # no input: checked with a made-up one
    template = tmp_path / "seed.html"
    template.write_text(SEED)
    result = CliRunner().invoke(main, ["preview", str(template), "--out", str(tmp_path / "p.html")])
    assert result.exit_code == 1 and "TemplateCheck: WARNING line" in result.output
