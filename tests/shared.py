"""The test data kept in the repository (tests/data): the template corpus and the seed notebook.

Nothing here looks outside the repository: a fresh clone has everything the suite reads.
`tests/data/SOURCES.md` lists where each file comes from and under which licence.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "corpus"
SEED_EN = DATA / "seeds" / "a2i-ranking-notebook-en.txt"
SEED_KO = DATA / "seeds" / "a2i-ranking-notebook-ko.txt"


def seed_template(notebook: Path = SEED_EN) -> str:
    """The ranking template of a seed notebook, verbatim (between `template = r\"\"\"` and `\"\"\"`)."""
    text = notebook.read_text()
    start = text.index('template = r"""') + len('template = r"""')
    return text[start : text.index('"""', start)]
