"""The template gallery (crowdloop gallery): three corpus templates rendered into a temporary folder."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import Browser

from crowdloop.gallery import build_gallery, corpus_entries, gallery, placeholder_media, sample_png
from tests.browser.harness import CORPUS, decode_png

PICKED = [
    "amazon-sagemaker-ground-truth-task-uis/text/sentiment-analysis.liquid.html",
    "amazon-sagemaker-ground-truth-task-uis/images/bounding-box.liquid.html",
    "amazon-sagemaker-ground-truth-task-uis/gen-ai/question-and-answer-pair.liquid.html",
]


def small_corpus(folder: Path) -> Path:
    records = [r for r in json.loads((CORPUS / "index.json").read_text()) if r["path"] in PICKED]
    assert len(records) == 3
    for record in records:
        for rel in (record["path"], record["sample_input"]):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CORPUS / rel, folder / rel)
    (folder / "index.json").write_text(json.dumps(records))
    return folder


def spread(browser: Browser, jpeg: bytes) -> dict[str, float]:
    """Luminance standard deviation and number of distinct colours of a JPEG, decoded by the browser."""
    page = browser.new_page()
    try:
        return page.evaluate(
            """async (src) => {
          const img = new Image(); img.src = src; await img.decode();
          const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
          const g = c.getContext('2d'); g.drawImage(img, 0, 0);
          const d = g.getImageData(0, 0, c.width, c.height).data;
          let sum = 0, sq = 0, n = 0; const colours = new Set();
          for (let i = 0; i < d.length; i += 4 * 7) {
            const y = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
            sum += y; sq += y * y; n++; colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4));
          }
          const mean = sum / n;
          return {std: Math.sqrt(sq / n - mean * mean), colours: colours.size, width: c.width, height: c.height};
        }""",
            "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
        )
    finally:
        page.close()


def test_gallery_of_three_templates(tmp_path: Path, browser: Browser) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    out = tmp_path / "gallery"
    result = CliRunner().invoke(gallery, ["--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 templates" in result.output
    index = (out / "index.html").read_text()
    images = re.findall(r'<img loading="lazy" width="1280" height="800" src="img/([^"]+)"', index)
    assert len(images) == 3
    for path in PICKED:
        assert path in index
    for element in ("crowd-classifier", "crowd-bounding-box", "crowd-question-answer-generation"):
        assert f"<li>{element}</li>" in index
    assert "note(s)" not in index  # no render errors, page errors or blocked requests
    for name in images:
        data = (out / "img" / name).read_bytes()
        assert data[:3] == b"\xff\xd8\xff"  # JPEG
        stats = spread(browser, data)
        assert (stats["width"], stats["height"]) == (1280, 800)
        assert stats["std"] > 15 and stats["colours"] > 20, (name, stats)


def test_identical_renderings_share_a_screenshot(tmp_path: Path) -> None:
    # a corpus without index.json: every template file, inputs/<path>.json when present
    folder = tmp_path / "plain"
    folder.mkdir()
    page = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
        '<crowd-form><crowd-input name="q" label="{{ task.input.q }}"></crowd-input></crowd-form>'
    )
    (folder / "a.html").write_text(page)
    (folder / "b.liquid.html").write_text(page)
    (folder / "inputs").mkdir()
    (folder / "inputs" / "a.html.json").write_text('{"q": "Your name?"}')
    (folder / "inputs" / "b.liquid.html.json").write_text('{"q": "Your name?"}')
    entries = corpus_entries(folder)
    assert [(e.path, e.elements, e.task_input) for e in entries] == [
        ("a.html", ["crowd-form", "crowd-input"], {"q": "Your name?"}),
        ("b.liquid.html", ["crowd-form", "crowd-input"], {"q": "Your name?"}),
    ]
    assert build_gallery(tmp_path / "out", folder, progress=False) == 2
    assert len(list((tmp_path / "out" / "img").iterdir())) == 1
    assert "renders like a.html" in (tmp_path / "out" / "index.html").read_text()


def test_placeholder_media() -> None:
    width, height, rows = decode_png(sample_png(64, 48))
    assert (width, height) == (64, 48) and len({p for row in rows for p in row}) > 3
    assert placeholder_media("https://x.test/a/photo.JPG?sig=1")[1] == "image/png"
    body, kind = placeholder_media("https://x.test/clip.mp3")
    assert kind == "audio/wav" and body[:4] == b"RIFF"
    body, kind = placeholder_media("https://x.test/doc.pdf")
    assert kind == "application/pdf" and body.startswith(b"%PDF-1.4") and body.endswith(b"%%EOF\n")
    xref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert body[xref : xref + 4] == b"xref"  # the offsets point where they should
    assert b"(Placeholder for doc.pdf)" in body
    assert placeholder_media("https://x.test/page.html")[1].startswith("text/html")
