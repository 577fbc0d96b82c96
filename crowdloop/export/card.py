"""The dataset card written next to every export: a JSON document (everything) and a Markdown card (a
Hugging Face README with YAML front matter) that people read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

DESCRIPTIONS = {
    "preferences": "Preference pairs (TRL {prompt, chosen, rejected}) formed within each item",
    "kto": "Unpaired preference rows (TRL KTO {prompt, completion, label})",
    "rankings": "Rankings of each item's responses, best first",
    "ratings": "Ratings of each response",
    "labels": "Labels given to each item (or response)",
}


def write_card(card: dict[str, Any], markdown_path: Path, json_path: Path) -> None:
    json_path.write_bytes(orjson.dumps(card, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    markdown_path.write_text(render_markdown(card))


def render_markdown(card: dict[str, Any]) -> str:
    output = card["output"]
    counts = card["counts"]
    agreement = card["agreement"]
    problems = card["problems"]
    lines = [
        "---",
        "tags:",
        "- crowdloop",
        "- human-feedback",
        f"- {output['dataset']}",
        "---",
        "",
        f"# {DESCRIPTIONS.get(output['dataset'], output['dataset'])}",
        "",
        f"Exported by crowdloop {card['crowdloop_version']} on {card['created_at']} "
        f"as {output['format']} ({output['rows']} rows).",
        "",
        "## Sources",
        "",
        "| source | flow definition | template sha256 | loops read |",
        "|---|---|---|---|",
    ]
    for source in card["sources"]:
        flows = source.get("flow_definition") or ", ".join(source.get("flow_definitions", [])) or "-"
        template = source.get("template_sha256") or "not recorded in output.json"
        lines.append(f"| {source['kind']}: `{source['location']}` | {flows} | `{template}` | {source['loops_read']} |")
    lines += ["", "## Mapping", ""]
    for mapping in card["mapping"]:
        described = ", ".join(f"{k}: `{v}`" for k, v in mapping.items())
        lines.append(f"- {described}")
    lines += ["", "## Options", ""]
    lines += [f"- {k}: `{v}`" for k, v in card["options"].items()]
    lines += ["", "## Counts", "", "| what | count |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in counts.items()]
    lines += _flag_lines(card)
    lines += ["", "## Dropped or invalid answers", ""]
    if not problems["total"]:
        lines.append("None.")
    else:
        lines.append(
            f"{problems['total']} problems: {problems['loops_dropped']} loops and "
            f"{problems['answers_dropped']} answers not used."
        )
        lines += ["", "| reason | count | examples |", "|---|---|---|"]
        for entry in problems["by_reason"]:
            examples = "; ".join(f"{e['item_id']}/{e['annotator'] or '-'}: {e['detail']}" for e in entry["examples"])
            lines.append(f"| {entry['reason']} | {entry['count']} | {_cell(examples)} |")
    lines += ["", "## Agreement", "", "| figure | value |", "|---|---|"]
    alpha = agreement["krippendorff_alpha"]
    lines.append(f"| Krippendorff's alpha ({alpha['level']}) | {_show(alpha['value'])} |")
    if "kendall_w_mean" in agreement:
        lines.append(f"| Kendall's W, mean over items | {_show(agreement['kendall_w_mean'])} |")
    lines.append(f"| pairwise agreement, mean over items | {_show(agreement['pairwise_agreement_mean'])} |")
    lines.append(f"| items with several annotators | {agreement['items_with_several_annotators']} |")
    workers = agreement.get("workers", [])
    if workers:
        lines += ["", "| worker | answers | agreement with others | first shown preferred |", "|---|---|---|---|"]
        for row in workers:
            lines.append(
                f"| {worker_name(row)} | {row['answers']} | {_show(row['agreement_with_others'])} | "
                f"{_show(row.get('first_shown_preferred'))} |"
            )
    models = agreement.get("models")
    if models:
        lines += [
            "",
            "## Models (Bradley-Terry over items, 95% bootstrap interval)",
            "",
            "| model | strength | interval | wins / games |",
            "|---|---|---|---|",
        ]
        for row in models["models"]:
            lines.append(
                f"| {row['model']} | {row['strength']:.3f} | [{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}] | "
                f"{row['wins']:g} / {row['games']:g} |"
            )
    lines.append("")
    return "\n".join(lines)


def _flag_lines(card: dict[str, Any]) -> list[str]:
    """What the card says about flagged answers (faster than the flow's crowdloop:min-seconds, or given by a
    worker paused for the flow: crowdloop.gold)."""
    counts = card["counts"]
    thresholds = sorted({s["min_seconds"] for s in card["sources"] if s.get("min_seconds")})
    paused = sum(int(s.get("paused_workers") or 0) for s in card["sources"])
    if not thresholds and not paused:
        return []
    reasons = []
    if thresholds:
        reasons.append("faster than crowdloop:min-seconds = " + " / ".join(f"{t:g}" for t in thresholds) + " s")
    if paused:
        reasons.append(f"given by {paused} worker{'s' if paused != 1 else ''} paused for low gold accuracy")
    why = " or ".join(reasons)
    left_out, kept = counts.get("answers_excluded_flagged", 0), counts.get("flagged_answers_kept", 0)
    if left_out:
        return ["", f"{left_out} flagged answers ({why}) were left out (`--include-flagged` keeps them)."]
    if kept:
        return ["", f"{kept} flagged answers ({why}) were kept (`--include-flagged`)."]
    if not paused:
        return ["", f"No answer was {why}."]
    return ["", f"No answer was flagged ({why})."]


def worker_name(row: dict[str, Any]) -> str:
    """A worker as cards and reports show them: the email where the store knows it, with the id output.json
    uses."""
    return f"{row['email']} ({row['worker']})" if row.get("email") else str(row["worker"])


def _show(value: Any) -> str:
    return "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:500]
