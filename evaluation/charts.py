"""Charts drawn as SVG markup: the same files work in the browser and in PDF reports.

Accessible by construction: each chart is an image with a title and a description, every
value is also written as text inside the chart (colour is never the only signal), and the
same numbers are in the dashboard's tables.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# A sequential blue scale; text switches to white on the two darkest blues, where it has the
# better contrast (dark text on #6fa2d0 reads at about 6:1, white only at about 2.7:1).
SCALE = ["#f1f6fb", "#d3e3f2", "#a9c8e6", "#6fa2d0", "#3a76b0", "#1f4e79"]
FIRST_DARK = 4


def _ink(index: int) -> str:
    return "#ffffff" if index >= FIRST_DARK else "#1b1f24"


def _fill(fraction: float) -> tuple[str, str]:
    index = min(len(SCALE) - 1, max(0, round(fraction * (len(SCALE) - 1))))
    return SCALE[index], _ink(index)


def _svg(width: int, height: int, title: str, desc: str, body: str, ident: str) -> SafeString:
    return mark_safe(  # noqa: S308  every text inside is escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def _label_lines(text: str, width: int, max_lines: int = 2) -> list[str]:
    """Wrap a label to at most max_lines of about width characters, ending in … if cut."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _label(text: str, x: float, y: float, anchor: str, width: int, *, bold=False) -> str:
    """An SVG text label wrapped onto lines (centred on y), with the whole text as its title."""
    lines = _label_lines(text, width)
    first = y - (len(lines) - 1) * 7
    spans = "".join(
        f'<tspan x="{x}" y="{first + i * 14}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text text-anchor="{anchor}" font-size="12"{weight} fill="#1b1f24">'
        f"<title>{escape(text)}</title>{spans}</text>"
    )


def _point(value: float) -> str:
    """A scale point for a legend: 2 → "2", 2.6 → "2.6" (in the reader's locale)."""
    if float(value).is_integer():
        return formats.number_format(int(value), 0)
    return formats.number_format(f"{value:.1f}", 1)


def _heat_legend(x: float, y: float, scale_min: int, scale_max: int) -> str:
    """The colour scale: one swatch per colour, each with the mean score it stands for."""
    swatch_w, swatch_h = 44, 20
    parts = [
        f'<text x="{x}" y="{y + swatch_h / 2 + 4}" font-size="12" fill="#1b1f24">'
        f"{escape(_('Colour scale (mean score):'))}</text>"
    ]
    start = x + 190
    for index, fill in enumerate(SCALE):
        value = scale_min + index * (scale_max - scale_min) / (len(SCALE) - 1)
        ink = _ink(index)
        left = start + index * swatch_w
        parts.append(
            f'<rect x="{left}" y="{y}" width="{swatch_w}" height="{swatch_h}" fill="{fill}" '
            f'stroke="#c9d1d9"/>'
            f'<text x="{left + swatch_w / 2}" y="{y + swatch_h / 2 + 4}" text-anchor="middle" '
            f'font-size="11" fill="{ink}">{_point(value)}</text>'
        )
    return "".join(parts)


def heat_map(
    rows: list[tuple[str, list[Decimal | None]]],
    columns: list[str],
    *,
    scale_min: int = 0,
    scale_max: int = 5,
):
    """Proposals (rows) by criteria (columns), each cell the mean score, written inside; a
    legend under the grid says which colour stands for which score."""
    label_width, cell_w, cell_h, head = 230, 150, 34, 44
    legend_h = 40
    grid_bottom = head + cell_h * len(rows)
    width = max(label_width + cell_w * len(columns), 190 + 44 * len(SCALE) + 8)
    height = grid_bottom + 12 + legend_h
    span = (scale_max - scale_min) or 1
    parts = []
    for index, column in enumerate(columns):
        x = label_width + index * cell_w + cell_w / 2
        parts.append(_label(column, x, head - 18, "middle", 20, bold=True))
    for r, (name, values) in enumerate(rows):
        y = head + r * cell_h
        parts.append(_label(name, label_width - 8, y + cell_h / 2 + 4, "end", 32))
        for c, value in enumerate(values):
            x = label_width + c * cell_w
            if value is None:
                fill, ink, text = "#ffffff", "#4f5b66", "—"
            else:
                fill, ink = _fill((float(value) - scale_min) / span)
                text = formats.number_format(f"{value:.2f}", 2)
            parts.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}" stroke="#c9d1d9"/>'
                f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 4}" text-anchor="middle" '
                f'font-size="12" fill="{ink}">{text}</text>'
            )
    parts.append(_heat_legend(0, grid_bottom + 16, scale_min, scale_max))
    return _svg(
        width,
        height,
        _("Mean score per proposal and criterion"),
        _(
            "A grid of %(rows)s proposals by %(cols)s criteria; darker cells are higher scores "
            "(from %(low)s to %(high)s), and each cell shows its mean score."
        )
        % {"rows": len(rows), "cols": len(columns), "low": scale_min, "high": scale_max},
        "".join(parts),
        "heatmap",
    )


def _ticks(tallest: int) -> list[int]:
    """Counts marked on the vertical axis: 0, the tallest bar, and the middle when whole."""
    ticks = {0, tallest}
    if tallest >= 4 and tallest % 2 == 0:
        ticks.add(tallest // 2)
    return sorted(ticks)


def distribution(name: str, counts: list[int], *, scale_min: int = 0, ident: str = "dist"):
    """How many reviews gave each score on one criterion: a small bar chart with labelled axes
    ("Number of reviews" up, "Score" along, with each scale point)."""
    bar_w, gap, plot_h = 34, 8, 90
    left, top = 34, 28  # room for the counts on the vertical axis, and its title above
    base = top + plot_h
    plot_w = len(counts) * (bar_w + gap) + gap
    width = max(left + plot_w, 200)
    tallest = max(counts) if counts and max(counts) else 1
    parts = [
        f'<text x="0" y="12" font-size="11" fill="#1b1f24">{escape(_("Number of reviews"))}</text>',
        f'<line x1="{left}" y1="{top - 6}" x2="{left}" y2="{base}" stroke="#4f5b66"/>',
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#4f5b66"/>',
    ]
    for tick in _ticks(tallest):
        y = base - plot_h * tick / tallest
        parts.append(
            f'<line x1="{left - 4}" y1="{y}" x2="{left}" y2="{y}" stroke="#4f5b66"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="10" '
            f'fill="#1b1f24">{formats.number_format(tick, 0)}</text>'
        )
    for index, count in enumerate(counts):
        x = left + gap + index * (bar_w + gap)
        h = plot_h * count / tallest
        parts.append(
            f'<rect x="{x}" y="{base - h}" width="{bar_w}" height="{h}" fill="#3a76b0"/>'
            f'<text x="{x + bar_w / 2}" y="{base - h - 4}" text-anchor="middle" font-size="11" '
            f'fill="#1b1f24">{count}</text>'
            f'<text x="{x + bar_w / 2}" y="{base + 14}" text-anchor="middle" font-size="11" '
            f'fill="#1b1f24">{scale_min + index}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{base + 32}" text-anchor="middle" font-size="11" '
        f'fill="#1b1f24">{escape(_("Score"))}</text>'
    )
    summary = ", ".join(
        ngettext("%(n)s review gave %(score)s", "%(n)s reviews gave %(score)s", count)
        % {"n": count, "score": scale_min + index}
        for index, count in enumerate(counts)
    )
    return _svg(
        width,
        base + 40,
        _("Scores given for %(name)s") % {"name": name},
        summary,
        "".join(parts),
        ident,
    )


def rank_text(value: float) -> str:
    """A rank for people: 3 → "3", 2.5 (a shared place) → "2.5", in the reader's locale."""
    if float(value).is_integer():
        return formats.number_format(int(value), 0)
    return formats.number_format(f"{value:.1f}", 1)


def _rank_ticks(total: int) -> list[int]:
    """Ranks marked on the axis: every rank up to 20, then every 5th or 10th, and the last."""
    step = 1 if total <= 20 else 5 if total <= 60 else 10
    ticks = [1, *range(step, total + 1, step)] if step > 1 else list(range(1, total + 1))
    if ticks[-1] != total:
        ticks.append(total)
    return sorted(set(ticks))


def rank_intervals(
    rows: list[tuple[str, float, float, float, bool]],
    *,
    places: int,
    total: int,
    ident: str = "ranks",
):
    """Each proposal's expected rank (a dot) and its 80 % interval (a bar) on an axis of ranks
    (1, the best, on the left), with the funding line drawn after `places`: rows are (title,
    expected rank, low, high, in the band), by expected rank. The numbers are written at the
    end of each row, and "in the band" too (the band's orange bars are not the only signal)."""
    label_width, plot_w, text_w, row_h, head = 230, 440, 250, 28, 46
    left = label_width + 12
    total = max(total, 1)
    height = head + row_h * len(rows) + 34
    width = left + plot_w + 16 + text_w

    def x(rank: float) -> float:
        return round(left + (rank - 0.5) / total * plot_w, 1)

    base = head + row_h * len(rows)
    parts = [
        f'<text x="{left + plot_w / 2}" y="14" text-anchor="middle" font-size="12" '
        f'fill="#1b1f24">{escape(_("Rank (1 is the best)"))}</text>',
        f'<line x1="{left}" y1="{head - 8}" x2="{left + plot_w}" y2="{head - 8}" '
        f'stroke="#4f5b66"/>',
    ]
    for tick in _rank_ticks(total):
        parts.append(
            f'<line x1="{x(tick)}" y1="{head - 12}" x2="{x(tick)}" y2="{head - 8}" '
            f'stroke="#4f5b66"/>'
            f'<text x="{x(tick)}" y="{head - 16}" text-anchor="middle" font-size="10" '
            f'fill="#1b1f24">{formats.number_format(tick, 0)}</text>'
        )
    for index, (title, expected, low, high, in_band) in enumerate(rows):
        y = head + index * row_h + row_h / 2
        colour = "#b35900" if in_band else "#1f4e79"
        if index % 2:
            parts.append(
                f'<rect x="0" y="{y - row_h / 2}" width="{width}" height="{row_h}" fill="#f6f8fa"/>'
            )
        parts.append(_label(title, label_width, y + 4, "end", 32))
        parts.append(
            f'<rect x="{x(low) - 3}" y="{y - 3}" width="{max(x(high) - x(low), 0) + 6}" '
            f'height="6" rx="3" fill="{colour}"/>'
            f'<circle cx="{x(expected)}" cy="{y}" r="6" fill="#ffffff" stroke="{colour}" '
            f'stroke-width="3"/>'
        )
        numbers = _("%(expected)s (rank %(low)s to %(high)s)") % {
            "expected": formats.number_format(f"{expected:.1f}", 1),
            "low": rank_text(low),
            "high": rank_text(high),
        }
        if in_band:
            numbers = _("%(numbers)s, in the band") % {"numbers": numbers}
        weight = ' font-weight="bold"' if in_band else ""
        parts.append(
            f'<text x="{left + plot_w + 16}" y="{y + 4}" font-size="12" fill="#1b1f24"{weight}>'
            f"{escape(numbers)}</text>"
        )
    line_x = round(left + places / total * plot_w, 1)
    parts.append(
        f'<line x1="{line_x}" y1="{head - 4}" x2="{line_x}" y2="{base + 6}" stroke="#a1231b" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{line_x}" y="{base + 22}" text-anchor="middle" font-size="12" '
        f'font-weight="bold" fill="#a1231b">'
        f"{escape(_('Funding line: %(places)s funded') % {'places': places})}</text>"
    )
    band = sum(1 for row in rows if row[4])
    desc = ngettext(
        "Expected rank and 80 %% interval of %(n)s proposal on an axis of ranks from 1 to "
        "%(total)s, with the funding line after place %(places)s; %(band)s in the band.",
        "Expected ranks and 80 %% intervals of %(n)s proposals on an axis of ranks from 1 to "
        "%(total)s, with the funding line after place %(places)s; %(band)s in the band.",
        len(rows),
    ) % {"n": len(rows), "total": total, "places": places, "band": band}
    return _svg(
        width,
        height,
        # %% and an empty mapping: the msgid stays a well-formed python-format string.
        _("Expected rank with its 80 %% interval, and the funding line") % {},
        desc,
        "".join(parts),
        ident,
    )
