"""The in-repository corpus is the recorded copy: every file sources.json lists is there, byte for byte, and
tests/data/SOURCES.md names every upstream repository it came from."""

from __future__ import annotations

import hashlib
import json

from tests.shared import CORPUS, DATA


def test_every_recorded_file_is_there_unmodified() -> None:
    sources = json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))
    changed = []
    for source in sources:
        for record in [*source["templates"], *source["license_files"]]:
            path = CORPUS / record["path"]
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != record["sha256"]:
                changed.append(record["path"])
    assert changed == []


def test_sources_md_names_every_upstream_repository() -> None:
    listed = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    repositories = [source["repo"] for source in json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))]
    assert len(repositories) == 12
    assert [repo for repo in repositories if f"https://github.com/{repo})" not in listed] == []
