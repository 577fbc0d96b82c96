"""Greedy complete-linkage clustering of several workers' shapes (boxes, text spans).

Every pair of items from different workers whose similarity reaches the threshold is a candidate; pairs
are taken from the most similar down (ties by position), and two clusters merge when they share no worker
and every pair across them reaches the threshold. So a cluster holds at most one item per worker and all
its members are pairwise similar. Deterministic for a given input order.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations


def greedy(workers: list[int], similarity: Callable[[int, int], float], threshold: float) -> list[list[int]]:
    """Clusters of the items 0..len(workers)-1 (`workers[i]` = who made item i), each sorted, listed by
    their first member."""
    pairs = sorted(
        (-s, i, j)
        for i, j in combinations(range(len(workers)), 2)
        if workers[i] != workers[j] and (s := similarity(i, j)) >= threshold
    )
    home = list(range(len(workers)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(workers))}
    for _, i, j in pairs:
        a, b = home[i], home[j]
        if a == b or {workers[m] for m in members[a]} & {workers[m] for m in members[b]}:
            continue
        if any(similarity(x, y) < threshold for x in members[a] for y in members[b]):
            continue
        keep, gone = min(a, b), max(a, b)
        members[keep] = sorted(members[keep] + members.pop(gone))
        for m in members[keep]:
            home[m] = keep
    return [members[k] for k in sorted(members)]
