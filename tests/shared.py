"""Where the workplace's shared material lives (the template corpus, the seed notebooks, the specs).

It sits beside the repository (`../shared`) in the development tree; a clone elsewhere (a clean CI
checkout in an empty folder) finds it at CROWDLOOP_SHARED_DIR or the workplace's fixed /work/shared.
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [Path(os.environ["CROWDLOOP_SHARED_DIR"])] if os.environ.get("CROWDLOOP_SHARED_DIR") else []
_CANDIDATES += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]

SHARED = next((path for path in _CANDIDATES if (path / "seeds").is_dir()), _CANDIDATES[-1])
CORPUS = SHARED / "corpus"
SEED_EN = SHARED / "seeds" / "a2i-ranking-notebook-en.txt"
