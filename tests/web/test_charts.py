"""The server-side SVG charts: valid XML, accessible, escaped, proportional, deterministic, and sane on edge data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pubdata.web import charts
from pubdata.web.charts import Series, bar_chart, hbar_chart, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "chart-bar" in r.get("class", "")]


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(("maximum", "expected"), [
    (0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (10, [0, 2, 4, 6, 8, 10]),
    (23, [0, 5, 10, 15, 20, 25]), (96, [0, 20, 40, 60, 80, 100]), (1234, [0, 500, 1000, 1500]),
])
def test_ticks_are_round_and_cover_the_maximum(maximum, expected):
    assert nice_ticks(maximum) == expected


def test_fractional_ticks_when_not_counting():
    assert nice_ticks(0.8, integer=False) == [0, 0.2, 0.4, 0.6, 0.8]


def test_bar_heights_are_proportional_and_labels_and_values_are_drawn():
    svg = bar_chart([("数据资源", 4), ("数据产品和服务", 2), ("开放数据资源", 1)], title="按登记类型", chart_id="c1",
                    unit="项")
    root = parse(svg)
    heights = [float(r.get("height", 0)) for r in bars(root)]
    assert heights[2] > 0
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.02)
    assert heights[1] == pytest.approx(2 * heights[2], abs=0.02)
    # Bars stand on one baseline.
    assert len({float(r.get("y", 0)) + float(r.get("height", 0)) for r in bars(root)}) == 1
    assert {"数据资源", "数据产品和服务", "开放数据资源", "4", "2", "1"} <= set(texts(root))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "按登记类型"  # type: ignore[union-attr]
    assert "数据资源 4项" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert "style=" not in svg


def test_horizontal_bars_are_proportional_and_long_labels_are_shortened_but_kept_in_titles():
    long = "信息传输、软件和信息技术服务业以及其他非常长的行业名称"
    root = parse(hbar_chart([("兰州市", 6), ("嘉峪关市", 3), (long, 0)], title="按地区", chart_id="c2"))
    widths = [float(r.get("width", 0)) for r in bars(root)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.02) and widths[2] == 0
    assert "兰州市" in texts(root)
    assert long not in texts(root) and any(t.endswith("…") for t in texts(root))
    titles = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert f"{long}：0" in titles


def test_line_chart_draws_each_series_with_a_legend_and_proportional_points():
    labels = [f"{m}月" for m in range(1, 13)]
    a = Series("提交申请", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    b = Series("完成登记", [0] * 11 + [11])
    root = parse(line_chart(labels, [a, b], title="近12个月", chart_id="c3",
                            full_labels=[f"2026年{m}月" for m in range(1, 13)]))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    ys = [float(p.split(",")[1]) for p in lines[0].get("points", "").split()]
    baseline, top = ys[0], ys[-1]
    assert ys[5] == pytest.approx(baseline - (baseline - top) * 5 / 11, abs=0.02)
    assert {"提交申请", "完成登记", "1月", "12月"} <= set(texts(root))
    assert "完成登记 2026年12月：11" in ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]


def test_text_is_escaped():
    nasty = '<script>alert("x")</script>&'
    svg = bar_chart([(nasty, 1)], title=nasty, chart_id='x"y')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    assert root.get("id") == 'x"y' and root.find(f"{SVG}title").text == nasty  # type: ignore[union-attr]
    hroot = parse(hbar_chart([(nasty, 2)], title=nasty, chart_id="h"))
    assert any(nasty in t or t.endswith("…") for t in texts(hroot))
    parse(line_chart([nasty], [Series(nasty, [1])], title=nasty, chart_id="l"))


@pytest.mark.parametrize("draw", [
    lambda: bar_chart([], title="空", chart_id="e"),
    lambda: hbar_chart([], title="空", chart_id="e"),
    lambda: line_chart([], [], title="空", chart_id="e"),
])
def test_empty_data_says_so(draw):
    root = parse(draw())
    assert charts.EMPTY_TEXT in texts(root) and not bars(root)


def test_single_value_and_all_zero_values_draw_without_dividing_by_zero():
    one = parse(bar_chart([("仅一项", 5)], title="一项", chart_id="s"))
    [bar] = bars(one)
    assert float(bar.get("height", 0)) > 0 and "5" in texts(one)
    zeros = parse(hbar_chart([("甲", 0), ("乙", 0)], title="零", chart_id="z"))
    assert [float(r.get("width", 1)) for r in bars(zeros)] == [0, 0]
    point = parse(line_chart(["9月"], [Series("提交申请", [3])], title="单点", chart_id="p"))
    assert len(list(point.iter(f"{SVG}circle"))) == 1


def test_output_is_deterministic():
    data = [("甲", 3), ("乙", 1.5)]
    assert bar_chart(data, title="t", chart_id="d") == bar_chart(list(data), title="t", chart_id="d")
    assert line_chart(["1月", "2月"], [Series("s", [1, 2])], title="t", chart_id="d") == \
        line_chart(["1月", "2月"], [Series("s", [1, 2])], title="t", chart_id="d")


def test_mismatched_series_are_a_programming_error():
    with pytest.raises(ValueError):
        line_chart(["1月", "2月"], [Series("s", [1])], title="t", chart_id="m")
