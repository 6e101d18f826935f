"""Chart geometry for the dashboard: numbers only. The SVG itself is drawn by the
(autoescaped) template, so every label is escaped like any other text; no script,
no charting library, no CDN."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Final

PALETTE: Final = ("#1f5fbf", "#e8883a", "#3a9e5c", "#b3261e", "#7b4fb8", "#8a8f98")
WIDTH: Final = 600
HEIGHT: Final = 180
MOST_SERIES: Final = 5


@dataclasses.dataclass(frozen=True)
class Segment:
    y: float
    height: float
    color: str
    label: str  # "blueprint: count on day"


@dataclasses.dataclass(frozen=True)
class Column:
    x: float
    width: float
    day: date
    total: int
    segments: list[Segment]


@dataclasses.dataclass(frozen=True)
class Stacked:
    columns: list[Column]
    legend: list[tuple[str, str]]  # (color, name)
    peak: int
    width: int = WIDTH
    height: int = HEIGHT


def _series(per_day: Mapping[str, Sequence[int]], order: Sequence[str]) -> dict[str, list[int]]:
    """The biggest ``MOST_SERIES`` series by name, the rest summed as "other"."""
    kept = list(order[:MOST_SERIES])
    series = {name: list(per_day[name]) for name in kept}
    rest = [name for name in order[MOST_SERIES:] if name in per_day]
    if rest:
        length = len(next(iter(per_day.values())))
        series["other"] = [sum(per_day[n][i] for n in rest) for i in range(length)]
    return series


def stacked(
    days: Sequence[date], per_day: Mapping[str, Sequence[int]], order: Sequence[str]
) -> Stacked:
    """Columns per day, stacked by blueprint (in ``order``, the biggest first)."""
    series = _series(per_day, order)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    step = WIDTH / max(len(days), 1)
    columns = []
    for i, day in enumerate(days):
        bottom = float(HEIGHT)
        segments = []
        for name, values in series.items():
            if values[i]:
                height = HEIGHT * values[i] / peak
                bottom -= height
                label = f"{name}: {values[i]} on {day.isoformat()}"
                segments.append(Segment(round(bottom, 2), round(height, 2), colors[name], label))
        columns.append(Column(round(i * step + 1, 2), round(step - 2, 2), day, totals[i], segments))
    return Stacked(columns, [(colors[n], n) for n in series], max(totals, default=0))


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # share of the longest bar, in percent


def bars(items: Sequence[tuple[str, int]], most: int = 10) -> list[Bar]:
    """Horizontal bars for the first ``most`` items, scaled to the biggest."""
    shown = list(items[:most])
    peak = max((value for _label, value in shown), default=0) or 1
    return [Bar(label, value, round(100 * value / peak, 1)) for label, value in shown]
