"""Which dataset is generated first and how big each is: parents before children."""

from __future__ import annotations

from dataclasses import dataclass

from specrules.dsl import ir
from specrules.spec import models
from specrules.spec.compiler import Plan


@dataclass
class _Layout:
    order: list[str]
    root: str
    primary: dict[str, tuple[str, str] | None]  # dataset -> (parent dataset, link field)
    secondary: dict[str, list[tuple[str, str]]]  # other links, filled with any parent key
    lookup: set[str]  # tops whose children all hang from another family: kept small


def _volumes(plan: Plan) -> dict[str, float]:
    """Rows a year each dataset's count targets imply (12,000 champions ≫ 3 case studies a
    quarter): among unlinked datasets, the largest is the main one."""
    per_year = {"year": 1.0, "quarter": 4.0, "month": 12.0, "week": 52.0}
    found: dict[str, float] = {}
    for rule in plan.rules:
        threshold = rule.threshold
        if (
            rule.kind == "kpi"
            and rule.model.scoring == "count"
            and isinstance(threshold, ir.Threshold)
            and isinstance(threshold.amount, ir.Number)
        ):
            amount = float(threshold.amount.value) * per_year.get(threshold.per or "year", 1.0)
            dataset = rule.model.dataset
            found[dataset] = max(found.get(dataset, 0.0), amount)
    return found


def _layout(spec: models.Spec, rule_counts: dict[str, int], volumes: dict[str, float]) -> _Layout:
    names = list(spec.datasets)
    parents = {
        n: [(link.dataset, link.field) for link in spec.datasets[n].links.values()] for n in names
    }
    outside = {n: [p for p in parents[n] if p[0] != n] for n in names}
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and all(p in order for p, _ in outside[n])]
        # a cycle of links: take the first remaining dataset; its open links get any key
        order.append(ready[0] if ready else next(n for n in names if n not in order))
    position = {n: i for i, n in enumerate(order)}
    depth: dict[str, int] = {}
    for n in order:
        earlier = [depth[p] for p, _ in outside[n] if position[p] < position[n]]
        depth[n] = 1 + max(earlier) if earlier else 0
    children = {n: [c for c in names if any(p == n for p, _ in outside[c])] for n in names}

    def descendants(n: str) -> set[str]:
        found: set[str] = set()
        stack = list(children[n])
        while stack:
            c = stack.pop()
            if c not in found:
                found.add(c)
                stack.extend(children[c])
        return found

    tops = [n for n in names if not outside[n]] or [order[0]]
    root = max(
        tops,
        key=lambda n: (
            len(descendants(n)),
            volumes.get(n, 0.0),
            rule_counts.get(n, 0),
            -names.index(n),
        ),
    )
    family = {root} | descendants(root)
    primary: dict[str, tuple[str, str] | None] = {}
    secondary: dict[str, list[tuple[str, str]]] = {}
    for n in order:
        before = [p for p in outside[n] if position[p[0]] < position[n]]
        chosen = (
            max(before, key=lambda p: (p[0] in family, depth[p[0]], -before.index(p)))
            if before and n != root
            else None
        )
        primary[n] = chosen
        secondary[n] = [p for p in parents[n] if p != chosen]
    lookup = {
        n
        for n in tops
        if n != root and children[n] and all(primary[c] and primary[c][0] != n for c in children[n])
    }
    return _Layout(order, root, primary, secondary, lookup)
