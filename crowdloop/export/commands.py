"""`crowdloop export DATASET ...` and `crowdloop report ...`: parse, then call crowdloop.export.api.

Registered in crowdloop/cli.py with `main.add_command(export)` and `main.add_command(report)`. The store comes
from --database-url / --data-dir, then CROWDLOOP_* variables (crowdloop.config), resolved here: the library
reads no environment. Only click and the settings are imported here; numpy, pyarrow and the rest load when a
command runs (extra `export`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from crowdloop.config import load_settings
from crowdloop.errors import CrowdloopError
from crowdloop.export.deps import require

_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def _source_options(command: Any) -> Any:
    options = [
        click.option(
            "--source",
            "sources",
            multiple=True,
            required=True,
            metavar="SRC",
            help="A flow definition name (or ARN) in the store, a folder of A2I output files (searched "
            "recursively for output.json) or an s3://bucket/prefix. Repeatable.",
        ),
        click.option(
            "--mapping",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Mapping file (TOML or JSON) saying where prompt, responses and answers are; without "
            "one the convention is detected.",
        ),
        click.option(
            "--dimension",
            default=None,
            help="crowd-text-ranking answers: the ranking dimension to use (needed when there are several).",
        ),
        click.option(
            "--min-agreement",
            type=click.FloatRange(0, 1),
            default=None,
            help="Keep only items whose pairwise agreement is at least this (drops single-annotator items).",
        ),
        click.option(
            "--min-annotators",
            type=click.IntRange(1),
            default=1,
            show_default=True,
            help="Keep only items answered by at least this many workers.",
        ),
        click.option(
            "--exclude-worker",
            "exclude_workers",
            multiple=True,
            metavar="WORKER_ID",
            help="Leave out this worker's answers (repeatable).",
        ),
        click.option(
            "--exclude-flagged/--include-flagged",
            "exclude_flagged",
            default=True,
            show_default=True,
            help="Leave out answers faster than the flow definition's crowdloop:min-seconds (flagged; store "
            "sources); the card says how many. --include-flagged keeps them.",
        ),
        click.option(
            "--include-stopped",
            is_flag=True,
            help="Store sources: also read Stopped loops that have answers (default: Completed only).",
        ),
        click.option(
            "--data-dir", default=None, help="Store location (as for the other commands) [env CROWDLOOP_DATA_DIR]."
        ),
        click.option("--database-url", default=None, help="SQLAlchemy URL of the store [env CROWDLOOP_DATABASE_URL]."),
        click.option(
            "--progress/--no-progress", default=None, help="Show a progress bar (default: when stderr is a terminal)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _dataset_options(command: Any) -> Any:
    options = [
        click.option("--output", "-o", required=True, type=click.Path(), help="File (jsonl, parquet) or folder (hf)."),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["jsonl", "parquet", "hf"]),
            default=None,
            help="Output format (default: from the --output suffix: .jsonl, .parquet, else hf).",
        ),
        click.option(
            "--consensus", is_flag=True, help="One consensus row per pair (or item) instead of one row per annotator."
        ),
        click.option(
            "--consensus-method",
            type=click.Choice(["mean-rank", "majority"]),
            default="mean-rank",
            show_default=True,
            help="How --consensus combines annotators.",
        ),
        click.option(
            "--conversational",
            is_flag=True,
            help="TRL's conversational format: prompt, chosen, rejected (completion) as message lists.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Exit with status 1 when there is any problem: a loop or answer that could not be used, or the "
            "template's (a response never shown, or shown twice).",
        ),
        click.option(
            "--worker-scores",
            is_flag=True,
            help="Add worker_agreement and worker_gold_accuracy columns: each row's worker's leave-one-out agreement "
            "and gold accuracy over the whole export (one more pass over the sources first).",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(1),
            default=None,
            help="Processes reading and pairing the loops of store sources (default: one per CPU, at most "
            "4; 1: this process only). The output does not depend on it.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return _source_options(command)


@click.group("export")
def export() -> None:
    """Training data from completed loops: preference pairs, KTO rows, rankings, ratings, labels.

    Each export writes a dataset card next to it (OUT.card.md and OUT.card.json; README.md inside an hf
    folder) with the sources, mapping, counts, unusable answers and agreement figures.
    """


@export.command("preferences")
@click.option(
    "--policy",
    type=click.Choice(["all", "best-vs-rest", "adjacent"]),
    default="all",
    show_default=True,
    help="Which pairs of an item's responses to emit.",
)
@click.option("--keep-ties", is_flag=True, help="Emit tied pairs with margin 0 (default: leave them out).")
@_dataset_options
def export_preferences(policy: str, keep_ties: bool, **options: Any) -> None:
    """Preference pairs {prompt, chosen, rejected, margin, item_id, annotator, agreement} for TRL's
    RewardTrainer and DPOTrainer, formed within each item."""
    _export("preferences", options, policy=policy, ties=keep_ties)


@export.command("kto")
@click.option(
    "--threshold",
    "kto_threshold",
    type=float,
    default=None,
    help="Ratings: desirable when the rating is at least this (default: best desirable, worst not).",
)
@_dataset_options
def export_kto(kto_threshold: float | None, **options: Any) -> None:
    """Unpaired rows {prompt, completion, label} for TRL's KTOTrainer: best responses desirable, worst not."""
    _export("kto", options, kto_threshold=kto_threshold)


@export.command("rankings")
@_dataset_options
def export_rankings(**options: Any) -> None:
    """Rankings {prompt, responses (best first), ranks, scores, item_id, annotator, agreement}."""
    _export("rankings", options)


@export.command("ratings")
@_dataset_options
def export_ratings(**options: Any) -> None:
    """Ratings {prompt, response, response_index, model, rating, item_id, annotator}."""
    _export("ratings", options)


@export.command("labels")
@_dataset_options
def export_labels(**options: Any) -> None:
    """Labels {prompt, response, label, item_id, annotator}; --consensus: Dawid-Skene and majority labels."""
    _export("labels", options)


@click.command("report")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write an HTML report with charts here.",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write every figure as JSON here."
)
@_source_options
def report(html_path: str | None, json_path: str | None, **options: Any) -> None:
    """Print agreement and position-bias tables for the answers of SRC; optionally an HTML report."""
    with _errors():
        api, report_module = _modules()
        progress = options.pop("progress")
        job = api.run(options.pop("sources"), "report", **_store(options), **_common(options))
        _close_stores_with_command(job)
        with _progress(job, progress):
            card = job.analyse()
        click.echo(report_module.render_text(card))
        if html_path:
            Path(html_path).write_text(report_module.render_html(card))
            click.echo(f"HTML report: {html_path}", err=True)
        if json_path:
            import orjson

            Path(json_path).write_bytes(orjson.dumps(card, option=orjson.OPT_INDENT_2))


def _export(dataset: str, options: dict[str, Any], **extra: Any) -> None:
    with _errors():
        api, report_module = _modules()
        output = Path(options.pop("output"))
        output_format = options.pop("output_format") or _format_for(output)
        consensus = options.pop("consensus_method") if options.pop("consensus") else None
        strict = options.pop("strict")
        progress = options.pop("progress")
        job = api.run(
            options.pop("sources"),
            dataset,
            **_store(options),
            consensus=consensus,
            conversational=options.pop("conversational"),
            jobs=options.pop("jobs"),
            worker_scores=options.pop("worker_scores"),
            **_common(options),
            **extra,
        )
        _close_stores_with_command(job)
        with _progress(job, progress):
            result = api.export(job, output, output_format)
        card = result.card
        click.echo(
            f"wrote {card['output']['rows']} rows ({card['counts']['items_exported']} items) to {result.path} "
            f"as {output_format}; card: {result.card_markdown}"
        )
        problems = card["problems"]
        if problems["total"]:
            click.echo(report_module.render_problems(problems), err=True)
            if strict:
                raise click.exceptions.Exit(1)


def _modules() -> tuple[Any, Any]:
    for module in ("numpy", "pyarrow", "scipy"):
        require(module)
    from crowdloop.export import api, report

    return api, report


def _format_for(output: Path) -> str:
    return _FORMATS.get(output.suffix.lower(), "hf")


def _close_stores_with_command(job: Any) -> None:
    """The store the command's sources read was opened for it (api.open_sources): close it when the command
    ends, so that running the command in-process (tests, notebooks) leaves no connection open."""
    stores = {id(source.store): source.store for source in job.sources if getattr(source, "store", None)}
    for store in stores.values():
        click.get_current_context().call_on_close(store.dispose)


def _store(options: dict[str, Any]) -> dict[str, Any]:
    """The store's URL from --database-url / --data-dir, then CROWDLOOP_* variables, then the defaults."""
    settings = load_settings({"database_url": options.pop("database_url"), "data_dir": options.pop("data_dir")})
    return {"database_url": settings.resolved_database_url}


def _common(options: dict[str, Any]) -> dict[str, Any]:
    mapping = options.pop("mapping")
    return {
        "mapping": mapping,
        "dimension": options.pop("dimension"),
        "min_agreement": options.pop("min_agreement"),
        "min_annotators": options.pop("min_annotators"),
        "exclude_workers": options.pop("exclude_workers"),
        "include_stopped": options.pop("include_stopped"),
        "include_flagged": not options.pop("exclude_flagged"),
    }


@contextmanager
def _progress(job: Any, enabled: bool | None) -> Iterator[None]:
    tqdm = require("tqdm").tqdm
    bar = tqdm(
        total=job.loops_expected(),
        unit=" loops",
        disable=None if enabled is None else not enabled,
        file=sys.stderr,
        mininterval=0.5,
    )
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] % 1000 == 0:
            bar.update(1000)

    job.on_loop = tick
    try:
        yield
        bar.update(seen[0] % 1000)
    finally:
        bar.close()


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except CrowdloopError as exc:
        raise click.ClickException(exc.message) from exc
    except (FileExistsError, IsADirectoryError) as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS: tuple[Callable[..., Any], ...] = (export, report)
