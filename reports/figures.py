"""Figures for the PDF reports, as SVG text: the lineage graph of a version and one
monitoring chart per metric.

The SVG is written here (boxes, lines and labels, which WeasyPrint draws itself), but the
arithmetic that once went wrong is not: a chart's axis and ticks come from matplotlib's
MaxNLocator, which never loops and bounds its tick count, over float positions. The output
is deterministic for the same input, which keeps rendered reports stable. Every piece of
text is escaped. No Django: pure functions over plain data.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from matplotlib.ticker import MaxNLocator

FONT = "DejaVu Sans, Liberation Sans, sans-serif"
KIND_COLOURS = {
    "dataset": "#e8eef7",
    "snapshot": "#dce8f5",
    "run": "#f6ecd9",
    "job": "#f3e6cf",
    "code": "#e3f1e3",
    "environment": "#ecf3e0",
    "artifact": "#efe4f2",
    "version": "#f8dcdc",
    "": "#eeeeee",
}
SERIES_COLOURS = ["#1f4e79", "#7a4f01", "#2e6b30", "#6b2e6b", "#8a3a1a", "#3a5f6b"]

# The lineage figure stays readable at any size: at most this many columns (deeper nodes are
# counted in the last one) and boxes per column (the rest are counted in a summary box).
MAX_LAYERS = 8
MAX_PER_LAYER = 10
BOX_W, BOX_H, GAP_Y, GAP_X = 132, 34, 10, 34
MM_PER_UNIT = 0.3  # at most: 9.5-unit labels print at about 8 pt


@dataclass(frozen=True)
class GraphNode:
    subject: str
    kind: str
    label: str
    depth: int


@dataclass(frozen=True)
class _Box:
    key: str
    kind: str
    title: str
    label: str
    x: float
    y: float


def lineage_svg(
    nodes: Sequence[GraphNode],
    edges: Iterable[tuple[str, str]],
    *,
    max_width_mm: float = 255,
    max_height_mm: float = 135,
    links: Mapping[str, str] | None = None,
) -> str:
    """Upstream lineage, laid out in columns by depth: raw data on the left, the version on
    the right; arrows run from upstream to downstream. Too many nodes in a column are
    summarised by a box counting them per kind. Sized in millimetres to fit the space given,
    never drawn larger than print size (labels about 8 pt).

    `links` (for a web page) maps node subjects to addresses: those boxes become links, and
    the figure a group of them rather than one image."""
    edges = list(edges)
    columns = _columns(nodes, edges)
    boxes: dict[str, _Box] = {}
    where: dict[str, str] = {}  # node subject -> the box that shows it
    tallest = max((len(column) for column in columns), default=1)
    height = max(tallest * (BOX_H + GAP_Y) + GAP_Y, BOX_H + 2 * GAP_Y)
    for index, column in enumerate(columns):
        x = GAP_X / 2 + (len(columns) - 1 - index) * (BOX_W + GAP_X)
        top = (height - len(column) * (BOX_H + GAP_Y) + GAP_Y) / 2
        for row, (key, kind, title, label, members) in enumerate(column):
            boxes[key] = _Box(key, kind, title, label, x, top + row * (BOX_H + GAP_Y))
            for member in members:
                where[member] = key
    width = len(columns) * (BOX_W + GAP_X)
    scale = min(MM_PER_UNIT, max_width_mm / width, max_height_mm / height)
    arrows = sorted({(where[s], where[t]) for s, t in edges if s in where and t in where})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width * scale:.1f}mm" height="{height * scale:.1f}mm" '
        f"font-family={quoteattr(FONT)} "
        + ('role="group" aria-label="Lineage graph">' if links else 'role="img">'),
        "<defs><marker id='arrow' viewBox='0 0 8 8' refX='8' refY='4' markerWidth='6' "
        "markerHeight='6' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#555'/></marker></defs>",
    ]
    for source, target in arrows:
        a, b = boxes[source], boxes[target]
        if a.key == b.key:
            continue
        x1, y1, x2, y2 = a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2
        if x2 <= x1:  # same column (a summary box): a short hook on the left
            x1, x2 = a.x, b.x
        mid = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} '
            f'{x2 - 1:.1f},{y2:.1f}" fill="none" stroke="#777" stroke-width="0.8" '
            'marker-end="url(#arrow)"/>'
        )
    for box in boxes.values():
        href = (links or {}).get(box.key)
        parts.append(_linked_box_svg(box, href) if href else _box_svg(box))
    parts.append("</svg>")
    return "\n".join(parts)


def _columns(
    nodes: Sequence[GraphNode], edges: list[tuple[str, str]]
) -> list[list[tuple[str, str, str, str, list[str]]]]:
    """Columns of boxes (key, kind, title, label, members), column 0 = depth 0."""
    by_depth: dict[int, list[GraphNode]] = defaultdict(list)
    for node in nodes:
        by_depth[min(node.depth, MAX_LAYERS - 1)].append(node)
    downstream: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        downstream[source].append(target)
    order: dict[str, float] = {}
    columns = []
    for depth in sorted(by_depth):
        # Place a node near the boxes it feeds (barycentre), to keep arrows short.
        layer = sorted(
            by_depth[depth],
            key=lambda n: (_mean(order.get(t) for t in downstream[n.subject]), n.kind, n.subject),
        )
        shown, rest = layer[:MAX_PER_LAYER], layer[MAX_PER_LAYER:]
        if depth == MAX_LAYERS - 1 and any(n.depth > depth for n in layer):
            shown, rest = [], layer
        column = [
            (n.subject, n.kind, n.kind or "not recorded", n.label, [n.subject]) for n in shown
        ]
        if rest:
            counts = Counter(n.kind or "not recorded" for n in rest)
            summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
            deeper = " (and deeper)" if depth == MAX_LAYERS - 1 else ""
            title = f"{len(rest)} more{deeper}"
            column.append((f"more:{depth}", "", title, summary, [n.subject for n in rest]))
        for row, entry in enumerate(column):
            for member in entry[4]:
                order[member] = row
        columns.append(column)
    return columns


def _mean(values: Iterable[float | None]) -> float:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else 0.0


def _box_svg(box: _Box) -> str:
    fill = KIND_COLOURS.get(box.kind, KIND_COLOURS[""])
    return (
        f'<g><rect x="{box.x:.1f}" y="{box.y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="3" '
        f'fill="{fill}" stroke="#555" stroke-width="0.7"/>'
        f'<text x="{box.x + 6:.1f}" y="{box.y + 12:.1f}" font-size="8" fill="#444" '
        f'letter-spacing="0.4">{escape(box.title.upper())}</text>'
        f'<text x="{box.x + 6:.1f}" y="{box.y + 26:.1f}" font-size="9.5" fill="#000">'
        f"{escape(shorten(box.label, 20))}</text></g>"
    )


def _linked_box_svg(box: _Box, href: str) -> str:
    """A box as a link, named by its whole label for keyboard and screen-reader users."""
    name = f"{box.title}: {box.label}"
    return (
        f"<a href={quoteattr(href)} aria-label={quoteattr(name)}>"
        f"<title>{escape(name)}</title>{_box_svg(box)}</a>"
    )


def shorten(text: str, limit: int) -> str:
    """Cut long labels in the middle, where digests and paths differ least."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep - keep // 3] + "…" + text[len(text) - keep // 3 :]


# --- Monitoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    window: str  # a label for the x axis, such as "2026-11-01 to 2026-11-30"
    segment: str
    value: str  # an exact decimal, as recorded
    breach: bool


@dataclass(frozen=True)
class Bound:
    label: str  # "upper 0.25", "lower 0.85 (site-a)"
    value: str


CHART_W, CHART_H = 520, 200
PAD_L, PAD_R, PAD_T, PAD_B = 48, 110, 14, 34
MAX_LEGEND = 8
MAX_TICKS = 8
TICKS = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
# The registry refuses monitoring figures and thresholds beyond this magnitude
# (auditreg.proofs.checks.check_decimal); a chart leaves out any it still meets.
CHART_LIMIT_EXPONENT = 18


def monitoring_svg(metric: str, points: Sequence[Point], bounds: Sequence[Bound]) -> str:
    """Values of one metric over its windows, one series per segment, the thresholds as
    dashed lines and every breach circled in red.

    Whatever the figures hold, drawing is bounded: values are placed as floats and figures
    beyond ±1e18 (which the registry refuses today, but an older ledger may hold)
    are left out of the drawing and named under it, never scaled into it.
    """
    windows = sorted({p.window for p in points})
    segments = sorted({p.segment for p in points})
    # Each recorded figure read once: its place on the chart, or None when it is not drawn.
    values = [p.value for p in points] + [b.value for b in bounds]
    placed = {value: _chartable(value) for value in values}
    drawn = [p for p in points if placed[p.value] is not None]
    lines = [b for b in bounds if placed[b.value] is not None]
    left_out = [value for value in values if placed[value] is None]
    low, high = _axis([y for y in placed.values() if y is not None])
    plot_w, plot_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B

    def x_of(window: str) -> float:
        if len(windows) == 1:
            return PAD_L + plot_w / 2
        return PAD_L + plot_w * windows.index(window) / (len(windows) - 1)

    def y_of(value: float) -> float:
        return PAD_T + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'width="100%" font-family={quoteattr(FONT)} role="img">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999" stroke-width="0.6"/>',
        f'<text x="{PAD_L}" y="{PAD_T - 4}" font-size="9" fill="#222">{escape(metric)}</text>',
    ]
    for tick in _ticks(low, high):
        y = y_of(tick)
        parts.append(
            f'<line x1="{PAD_L - 3}" y1="{y:.1f}" x2="{PAD_L + plot_w}" y2="{y:.1f}" '
            'stroke="#e2e2e2" stroke-width="0.5"/>'
            f'<text x="{PAD_L - 5}" y="{y + 3:.1f}" font-size="8" text-anchor="end" '
            f'fill="#444">{escape(_tick_label(tick))}</text>'
        )
    for window in windows:
        x = x_of(window)
        parts.append(
            f'<text x="{x:.1f}" y="{PAD_T + plot_h + 13}" font-size="7.5" text-anchor="middle" '
            f'fill="#444">{escape(shorten(window, 26))}</text>'
        )
    if left_out:
        shown = ", ".join(shorten(value, 16) for value in left_out[:3])
        more = f" and {len(left_out) - 3} more" if len(left_out) > 3 else ""
        parts.append(
            f'<text x="{PAD_L}" y="{CHART_H - 4}" font-size="7.5" fill="#b00000">'
            f"not drawn, beyond ±1e{CHART_LIMIT_EXPONENT}: {escape(shown)}{more}</text>"
        )
    for bound in lines:
        y = y_of(_position(placed, bound.value))
        parts.append(
            f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{PAD_L + plot_w}" y2="{y:.1f}" stroke="#b00000" '
            'stroke-width="1" stroke-dasharray="5,3"/>'
            f'<text x="{PAD_L + 4}" y="{y - 3:.1f}" font-size="8" fill="#b00000">'
            f"{escape(shorten(bound.label, 40))}</text>"
        )
    for index, segment in enumerate(segments):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        series = sorted((p for p in drawn if p.segment == segment), key=lambda p: p.window)
        coords = [(x_of(p.window), y_of(_position(placed, p.value))) for p in series]
        if len(coords) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.2"/>'
            )
        for point, (x, y) in zip(series, coords, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>')
            if point.breach:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="none" stroke="#b00000" '
                    f'stroke-width="1.2"/><text x="{x + 8:.1f}" y="{y - 6:.1f}" font-size="8" '
                    f'fill="#b00000">breach {escape(shorten(point.value, 30))}</text>'
                )
        if index < MAX_LEGEND:
            legend_x, legend_y = PAD_L + plot_w + 4, PAD_T + 10 + 12 * index
            parts.append(
                f'<circle cx="{legend_x + 3:.1f}" cy="{legend_y - 3:.1f}" r="2.6" '
                f'fill="{colour}"/><text x="{legend_x + 9:.1f}" y="{legend_y:.1f}" '
                f'font-size="8" fill="#222">{escape(shorten(segment, 20))}</text>'
            )
    if len(segments) > MAX_LEGEND:
        legend_y = PAD_T + 10 + 12 * MAX_LEGEND
        parts.append(
            f'<text x="{PAD_L + plot_w + 4}" y="{legend_y}" font-size="8" fill="#222">'
            f"+{len(segments) - MAX_LEGEND} more segments</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _chartable(value: str) -> float | None:
    """The figure as a float to draw, or None when it is not a finite decimal below
    ±1e18. Only placement is approximate: labels print the recorded text."""
    try:
        number = Decimal(value)
    except (ArithmeticError, ValueError):
        return None
    # adjusted() is the exponent of the leading digit: no arithmetic, so no overflow.
    if not number.is_finite() or (number and number.adjusted() >= CHART_LIMIT_EXPONENT):
        return None
    return float(number)


def _position(placed: dict[str, float | None], value: str) -> float:
    position = placed[value]
    assert position is not None  # callers draw only placed figures
    return position


def _axis(values: Sequence[float]) -> tuple[float, float]:
    """The y axis: the figures' range with a margin, widened by matplotlib's locator when
    all figures are equal or nearly so (it picks a span that floats can still divide)."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low, high = TICKS.nonsingular(low, high)
    margin = (high - low) * 0.15
    return low - margin, high + margin


def _ticks(low: float, high: float) -> list[float]:
    """At most MAX_TICKS round values within the axis, from matplotlib's MaxNLocator."""
    values = TICKS.tick_values(low, high)
    return [float(t) for t in values if low <= t <= high][:MAX_TICKS]


def _tick_label(value: float) -> str:
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0", "-0.0") else text
