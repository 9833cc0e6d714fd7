"""Server-side SVG charts: vertical bars, horizontal bars and a monthly line chart.

Pages run under a strict CSP and without JavaScript, so charts are plain SVG written here: geometry as SVG
attributes, colours and fonts from classes in static/authority.css (no ``style=``). Every chart is an
``role="img"`` with a ``<title>`` and ``<desc>``, visible text labels and values, and a ``<title>`` on each bar or
point; pages put the same figures in a table next to it. Output is deterministic (same data, same bytes) and all
text is XML-escaped, so callers may hand the result to Jinja as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape as _escape

from markupsafe import Markup

WIDTH = 640
FONT = 12
#: Attribute values also escape double quotes.
_ATTR = {'"': "&quot;"}
EMPTY_TEXT = "暂无数据"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def esc(text: object) -> str:
    return _escape(str(text), _ATTR)


def num(value: float) -> str:
    """Integers without a decimal point, other values to at most two decimals (stable across platforms)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: float, count: int = 5, *, integer: bool = True) -> list[float]:
    """Axis ticks from 0 to a round top ≥ ``maximum``: steps of 1, 2 or 5 × 10ⁿ, about ``count`` of them."""
    if not maximum or maximum <= 0 or not math.isfinite(maximum):
        return [0, 1]
    raw = maximum / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1, round(step))
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def text_width(text: str, size: float = FONT) -> float:
    """Rough rendered width: CJK and other wide characters one em, the rest about 0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def fit(text: str, width: float, size: float = FONT) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` (the full text stays in the <title> and table)."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _open(chart_id: str, title: str, desc: str, width: float, height: float, kind: str) -> list[str]:
    ident = esc(chart_id)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" id="{ident}" role="img" '
            f'viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" height="{num(height)}" '
            f'aria-labelledby="{ident}-title {ident}-desc">',
            f'<title id="{ident}-title">{esc(title)}</title>', f'<desc id="{ident}-desc">{esc(desc)}</desc>']


def _empty(chart_id: str, title: str, width: float) -> Markup:
    parts = _open(chart_id, title, EMPTY_TEXT, width, 80, "empty")
    parts.append(f'<text class="chart-empty" x="{num(width / 2)}" y="44" text-anchor="middle">{EMPTY_TEXT}</text>')
    return Markup("\n".join([*parts, "</svg>"]))


def _describe(items: Sequence[tuple[str, float]], unit: str) -> str:
    return "；".join(f"{label} {num(value)}{unit}" for label, value in items)


def _y_axis(ticks: Sequence[float], left: float, right: float, y_of: Callable[[float], float]) -> list[str]:
    out = []
    for t in ticks:
        y = y_of(t)
        out.append(f'<line class="chart-grid" x1="{num(left)}" y1="{num(y)}" x2="{num(right)}" y2="{num(y)}"/>')
        out.append(f'<text class="chart-tick" x="{num(left - 6)}" y="{num(y + 4)}" text-anchor="end">{num(t)}</text>')
    return out


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, chart_id: str, unit: str = "",
              width: float = WIDTH) -> Markup:
    """Vertical bars, one per (label, value); for a few categories (types, statuses)."""
    if not items:
        return _empty(chart_id, title, width)
    height, top, bottom, left, right = 260.0, 24.0, 40.0, 48.0, 12.0
    ticks = nice_ticks(max(v for _, v in items))
    plot_h, plot_w = height - top - bottom, width - left - right
    slot = plot_w / len(items)
    bar_w = min(64.0, slot * 0.6)

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * v / ticks[-1]

    parts = _open(chart_id, title, _describe(items, unit), width, height, "bar")
    parts += _y_axis(ticks, left, width - right, y_of)
    for i, (label, value) in enumerate(items):
        x = left + slot * i + (slot - bar_w) / 2
        y = y_of(value)
        centre = x + bar_w / 2
        parts += [f'<g class="chart-item"><title>{esc(label)}：{num(value)}{esc(unit)}</title>',
                  f'<rect class="chart-bar chart-series-{i % 6}" x="{num(x)}" y="{num(y)}" width="{num(bar_w)}" '
                  f'height="{num(top + plot_h - y)}"/>',
                  f'<text class="chart-value" x="{num(centre)}" y="{num(y - 5)}" text-anchor="middle">'
                  f'{num(value)}</text>',
                  f'<text class="chart-label" x="{num(centre)}" y="{num(height - bottom + 18)}" text-anchor="middle">'
                  f'{esc(fit(label, slot - 4))}</text></g>']
    parts.append(f'<line class="chart-axis" x1="{num(left)}" y1="{num(top + plot_h)}" x2="{num(width - right)}" '
                 f'y2="{num(top + plot_h)}"/>')
    return Markup("\n".join([*parts, "</svg>"]))


def hbar_chart(items: Sequence[tuple[str, float]], *, title: str, chart_id: str, unit: str = "",
               width: float = WIDTH) -> Markup:
    """Horizontal bars, one row per (label, value); for many or long labels (regions, industries)."""
    if not items:
        return _empty(chart_id, title, width)
    row, top, bottom = 26.0, 8.0, 26.0
    label_w = min(168.0, max(text_width(label) for label, _ in items) + 8)
    left, right = label_w + 8, 48.0
    height = top + row * len(items) + bottom
    ticks = nice_ticks(max(v for _, v in items))
    plot_w = width - left - right

    def x_of(v: float) -> float:
        return left + plot_w * v / ticks[-1]

    parts = _open(chart_id, title, _describe(items, unit), width, height, "hbar")
    base = top + row * len(items)
    for t in ticks:
        x = x_of(t)
        parts += [f'<line class="chart-grid" x1="{num(x)}" y1="{num(top)}" x2="{num(x)}" y2="{num(base)}"/>',
                  f'<text class="chart-tick" x="{num(x)}" y="{num(base + 16)}" text-anchor="middle">{num(t)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + row * i
        end = x_of(value)
        parts += [f'<g class="chart-item"><title>{esc(label)}：{num(value)}{esc(unit)}</title>',
                  f'<text class="chart-label" x="{num(label_w)}" y="{num(y + row / 2 + 4)}" text-anchor="end">'
                  f'{esc(fit(label, label_w - 4))}</text>',
                  f'<rect class="chart-bar chart-series-0" x="{num(left)}" y="{num(y + 4)}" width="{num(end - left)}" '
                  f'height="{num(row - 8)}"/>',
                  f'<text class="chart-value" x="{num(end + 4)}" y="{num(y + row / 2 + 4)}">{num(value)}</text></g>']
    parts.append(f'<line class="chart-axis" x1="{num(left)}" y1="{num(top)}" x2="{num(left)}" y2="{num(base)}"/>')
    return Markup("\n".join([*parts, "</svg>"]))


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, chart_id: str, unit: str = "",
               full_labels: Sequence[str] | None = None, width: float = WIDTH) -> Markup:
    """One line per series over the same x labels (months), with a legend and a marker per point.

    ``labels`` are the short axis labels ("10月"); ``full_labels`` ("2025年10月") name the points in the
    description and tooltips."""
    if not labels or not series:
        return _empty(chart_id, title, width)
    names = list(full_labels) if full_labels is not None else list(labels)
    if len(names) != len(labels):
        raise ValueError(f"{len(names)} full labels for {len(labels)} labels")
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
    height, top, bottom, left, right = 280.0, 36.0, 40.0, 48.0, 16.0
    ticks = nice_ticks(max(max(s.values, default=0) for s in series))
    plot_h, plot_w = height - top - bottom, width - left - right
    slot = plot_w / len(labels)

    def x_of(i: int) -> float:
        return left + slot * i + slot / 2

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * v / ticks[-1]

    desc = "；".join(f"{s.name}：" + "，".join(f"{lab} {num(v)}{unit}" for lab, v in zip(names, s.values, strict=True))
                    for s in series)
    parts = _open(chart_id, title, desc, width, height, "line")
    parts += _y_axis(ticks, left, width - right, y_of)
    legend_x = left
    for k, s in enumerate(series):
        parts += [f'<rect class="chart-swatch chart-series-{k % 6}" x="{num(legend_x)}" y="8" width="14" height="4"/>',
                  f'<text class="chart-legend" x="{num(legend_x + 20)}" y="14">{esc(s.name)}</text>']
        legend_x += 20 + text_width(s.name) + 24
    step = max(1, math.ceil(len(labels) / max(1, int(plot_w // (text_width(max(labels, key=len)) + 8)))))
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append(f'<text class="chart-label" x="{num(x_of(i))}" y="{num(height - bottom + 18)}" '
                         f'text-anchor="middle">{esc(label)}</text>')
    for k, s in enumerate(series):
        points = " ".join(f"{num(x_of(i))},{num(y_of(v))}" for i, v in enumerate(s.values))
        parts.append(f'<polyline class="chart-line chart-series-{k % 6}" fill="none" points="{points}"/>')
        for i, v in enumerate(s.values):
            parts.append(f'<circle class="chart-point chart-series-{k % 6}" cx="{num(x_of(i))}" cy="{num(y_of(v))}" '
                         f'r="3.5"><title>{esc(s.name)} {esc(names[i])}：{num(v)}{esc(unit)}</title></circle>')
    parts.append(f'<line class="chart-axis" x1="{num(left)}" y1="{num(top + plot_h)}" x2="{num(width - right)}" '
                 f'y2="{num(top + plot_h)}"/>')
    return Markup("\n".join([*parts, "</svg>"]))
