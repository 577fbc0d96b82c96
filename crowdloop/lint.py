"""`crowdloop lint TEMPLATE [--input JSON|@FILE] [--mapping FILE]`: the template checks of
crowdloop.templatecheck for a template file, one finding per line, exit status 1 on an error or warning.
A tool for authors, like `preview`: it needs no store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from crowdloop.config import load_settings
from crowdloop.errors import InvalidInput
from crowdloop.export.mapping import load_mapping
from crowdloop.liquid import RenderLimits
from crowdloop.templatecheck import check_template


def read_input(value: str) -> Any:
    """--input: a JSON object, or @FILE naming a file that holds one."""
    where = "--input"
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--input") from exc
        where = str(path)
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"{where} is not JSON: {exc}", param_hint="--input") from exc
    if not isinstance(document, dict):
        raise click.BadParameter(f"{where} is not a JSON object (task.input is one)", param_hint="--input")
    return document


@click.command("lint")
@click.argument("template_file", metavar="TEMPLATE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--input",
    "input_value",
    metavar="JSON|@FILE",
    help="task.input to render with: a JSON object, or @FILE to read it from a file (a loop's InputContent). "
    "Default: an input made up from the task.input paths the template's expressions read.",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mapping file (TOML or JSON, as for `crowdloop export --mapping`) saying which answer field refers to "
    "which response; default: the convention the export detects in the template's form fields.",
)
def lint(template_file: Path, input_value: str | None, mapping_file: Path | None) -> None:
    """Check TEMPLATE for mistakes workers would not notice but the exported data would.

    Warns when the template never shows a response an answer field refers to (response_3_ranking and
    taskObject.responses[2], by the mapping the export uses), shows a response twice in separate items,
    has response-like form fields the mapping reads for no response (or none for a response the input has),
    and reports Liquid syntax and render errors. Prints one finding per line, `LEVEL line N: message`
    (LEVEL is ERROR, WARNING or INFO; the line when known). Exit status 1 when there is an error or a
    warning, 0 otherwise (INFO lines only, or `ok`).

    \b
    Examples:
      crowdloop lint ranking.html
      crowdloop lint ranking.html --input @loop-input.json
      crowdloop lint ranking.html --input '{"taskObject": {"prompt": "?", "responses": ["a", "b", "c"]}}'
    """
    template = template_file.read_text(encoding="utf-8")
    task_input = read_input(input_value) if input_value is not None else None
    try:
        mapping = load_mapping(mapping_file) if mapping_file is not None else None
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from exc
    limits = RenderLimits(cpu_seconds=load_settings().render_time_limit_seconds)  # as the server renders
    findings = check_template(template, task_input, mapping=mapping, limits=limits)
    for finding in findings:
        click.echo(finding.describe())
    if any(f.alarming for f in findings):
        raise SystemExit(1)
    click.echo("ok")
