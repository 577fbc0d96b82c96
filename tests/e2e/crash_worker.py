"""A worker process for the crash test: claims and answers tasks through the queue and appends the id of
every assignment whose submit call returned to an acknowledgement file. Killed with SIGKILL by the test.

    python -m tests.e2e.crash_worker DATABASE_URL DATA_DIR EMAIL FLOW_NAME ACK_FILE
"""

from __future__ import annotations

import sys
import threading

from crowdloop.app import build_services
from crowdloop.config import Settings
from tests.e2e.answering import answer_until


class _AckList(list[int]):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 - lives until the process is killed

    def append(self, assignment_id: int) -> None:
        self._file.write(f"{assignment_id}\n")


def main() -> None:
    database_url, data_dir, email, flow_name, ack_file = sys.argv[1:6]
    svc = build_services(Settings(data_dir=data_dir, database_url=database_url))
    answer_until(
        svc,
        email,
        flow_name,
        lambda: {"verdict": {"label": "good"}},
        threading.Event(),
        answered=_AckList(ack_file),
        poll_seconds=0.01,
    )


if __name__ == "__main__":
    main()
