"""The agreement report: plain-text tables for the terminal and a self-contained HTML page whose charts
are inline SVG (no script, no external asset): distribution of the values given per position shown,
agreement per item, and each worker's position bias and agreement with the others."""

from __future__ import annotations

from html import escape
from typing import Any

from crowdloop.export.card import worker_name

_WIDTH = 640


def render_text(card: dict[str, Any]) -> str:
    a = card["agreement"]
    alpha = a["krippendorff_alpha"]
    lines = [
        f"items {a['items']}  answers {a['answers']}  items with several annotators "
        f"{a['items_with_several_annotators']}",
        "",
    ]
    figures = [(f"Krippendorff's alpha ({alpha['level']})", alpha["value"])]
    if "kendall_w_mean" in a:
        figures.append(("Kendall's W (mean over items)", a["kendall_w_mean"]))
    figures.append(("pairwise agreement (mean over items)", a["pairwise_agreement_mean"]))
    lines += _table(["figure", "value"], [[name, _fmt(value)] for name, value in figures])
    workers = a.get("workers", [])
    if workers:
        lines.append("")
        headers = ["worker", "answers", "agreement with others", "compared"]
        bias = "first_shown_preferred" in workers[0]
        if bias:
            headers += ["first shown preferred", "decided", "bias p-value"]
        rows = []
        for w in workers:
            row = [worker_name(w), str(w["answers"]), _fmt(w["agreement_with_others"]), str(w["compared"])]
            if bias:
                row += [_fmt(w["first_shown_preferred"]), str(w["first_shown_decided"]), _fmt(w["position_bias_p"])]
            rows.append(row)
        lines += _table(headers, rows)
    models = a.get("models")
    if models:
        lines.append("")
        lines += _table(
            ["model", "Bradley-Terry strength", "95% interval", "wins / games"],
            [
                [
                    m["model"],
                    _fmt(m["strength"]),
                    f"[{_fmt(m['ci95'][0])}, {_fmt(m['ci95'][1])}]",
                    f"{m['wins']:g} / {m['games']:g}",
                ]
                for m in models["models"]
            ],
        )
    if "dawid_skene" in a:
        ds = a["dawid_skene"]
        lines.append("")
        lines += _table(
            ["label", "given", "Dawid-Skene prior"],
            [[label, str(count), _fmt(ds["class_priors"].get(label))] for label, count in sorted(a["labels"].items())],
        )
    flagged = card.get("counts", {}).get("answers_excluded_flagged", 0)
    if flagged:
        lines += [
            "",
            f"{flagged} flagged answers (faster than crowdloop:min-seconds, or by a paused worker) left out "
            "(--include-flagged keeps them)",
        ]
    if card["problems"]["total"]:
        lines += ["", render_problems(card["problems"])]
    return "\n".join(lines)


def render_problems(problems: dict[str, Any]) -> str:
    lines = [
        f"{problems['total']} problems: {problems['loops_dropped']} loops and {problems['answers_dropped']} "
        "answers not used"
    ]
    for entry in problems["by_reason"]:
        lines.append(f"  {entry['count']:>7}  {entry['reason']}")
        for example in entry["examples"][:3]:
            lines.append(f"           e.g. {example['item_id']} / {example['annotator'] or '-'}: {example['detail']}")
    return "\n".join(lines)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


# --- HTML -----------------------------------------------------------------------------------------------


def render_html(card: dict[str, Any]) -> str:
    a = card["agreement"]
    sections = [f"<pre>{escape(render_text(card))}</pre>"]
    if a.get("value_distribution"):
        sections.append("<h2>Values given, by position shown</h2>" + _distribution_chart(a["value_distribution"]))
    sections.append("<h2>Agreement per item</h2>" + _histogram_chart(a["agreement_histogram"]["counts"]))
    if a.get("workers"):
        sections.append("<h2>Workers</h2>" + _worker_chart(a["workers"]))
    sources = ", ".join(escape(str(s["location"])) for s in card["sources"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>crowdloop agreement report</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f6f6f6;"
        "padding:1em;overflow:auto}svg text{font:12px system-ui,sans-serif}</style></head><body>"
        f"<h1>Agreement report</h1><p>Sources: {sources}. Generated {escape(card['created_at'])}.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _bars(
    labels: list[str],
    series: list[tuple[str, list[float], str]],
    y_label: str,
    maximum: float | None = None,
    reference: float | None = None,
) -> str:
    """A grouped bar chart as SVG."""
    height, left, bottom, top = 260, 50, 40, 20
    peak = maximum if maximum is not None else max([v for _, values, _ in series for v in values] + [1e-9])
    slot = (_WIDTH - left - 10) / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)
    plot = height - bottom - top
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{height + 20 * len(series)}' "
        f"role='img' aria-label='{escape(y_label)}'>",
        f"<line x1='{left}' y1='{top + plot}' x2='{_WIDTH - 10}' y2='{top + plot}' stroke='#333'/>",
        f"<text x='5' y='{top - 5}'>{escape(y_label)}</text>",
        f"<text x='5' y='{top + 10}'>{peak:g}</text>",
    ]
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for s, (_, values, colour) in enumerate(series):
            value = values[i]
            h = 0 if peak == 0 else plot * value / peak
            parts.append(
                f"<rect x='{x0 + s * bar:.1f}' y='{top + plot - h:.1f}' width='{bar:.1f}' height='{h:.1f}' "
                f"fill='{colour}'><title>{escape(label)}: {_fmt(value)}</title></rect>"
            )
        parts.append(f"<text x='{x0:.1f}' y='{top + plot + 15}'>{escape(label[:12])}</text>")
    if reference is not None:
        y = top + plot - plot * reference / peak
        parts.append(
            f"<line x1='{left}' y1='{y:.1f}' x2='{_WIDTH - 10}' y2='{y:.1f}' stroke='#c00' stroke-dasharray='4 3'/>"
        )
    for s, (name, _, colour) in enumerate(series):
        y = height + 20 * s
        parts.append(
            f"<rect x='{left}' y='{y - 10}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{left + 15}' y='{y}'>{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]


def _distribution_chart(distribution: list[dict[str, Any]]) -> str:
    positions = sorted({d["position"] for d in distribution})
    values = sorted({d["value"] for d in distribution})[: len(_COLOURS)]
    counts = {(d["position"], d["value"]): d["count"] for d in distribution}
    series = [
        (f"value {v:g}", [float(counts.get((p, v), 0)) for p in positions], _COLOURS[i]) for i, v in enumerate(values)
    ]
    return _bars([f"position {p}" for p in positions], series, "answers")


def _histogram_chart(counts: list[int]) -> str:
    bins = len(counts)
    labels = [f"{i / bins:.1f}-{(i + 1) / bins:.1f}" for i in range(bins)]
    return _bars(labels, [("items", [float(c) for c in counts], _COLOURS[0])], "items")


def _worker_chart(workers: list[dict[str, Any]]) -> str:
    shown = workers[:40]
    series = [("agreement with others", [w["agreement_with_others"] or 0.0 for w in shown], _COLOURS[0])]
    if "first_shown_preferred" in shown[0]:
        series.append(
            ("first shown preferred (dashed: 0.5)", [w["first_shown_preferred"] or 0.0 for w in shown], _COLOURS[1])
        )
    return _bars(
        [w.get("email") or w["worker"] for w in shown],
        series,
        "share",
        maximum=1.0,
        reference=0.5 if len(series) > 1 else None,
    )
