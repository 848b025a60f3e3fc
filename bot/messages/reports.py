"""What leads are shown of the network: the report's words and chart, the export note, review reminders.

Counts for the network and its themes only: no school is named, ranked or compared.
"""
from __future__ import annotations

import io
from datetime import datetime

from bot.domain.pairings import HELPED
from bot.messages.common import escape, gap_line, plural, reply, section, theme_label
from bot.services.reports import NetworkReport

STATE_WORDS = {
    "proposed": "waiting for review", "approved": "approved", "introduced": "introduced",
    "connected": "connected", "completed": "completed", "declined": "didn't go ahead", "rejected": "not approved",
}
# Okabe and Ito's colour-blind-safe palette with one grey only (for what is still waiting), in
# tones that stay apart when a trustees' paper is printed in black and white.
STATE_COLOURS = {
    "proposed": "#BBBBBB", "approved": "#56B4E9", "introduced": "#0072B2", "connected": "#009E73",
    "completed": "#00543C", "declined": "#E69F00", "rejected": "#CC79A7",
}
DARK_ON = ("proposed", "approved", "declined")  # light fills: their counts are written in black
NEEDS_COLOUR, MET_COLOUR = "#56B4E9", "#009E73"
EXCHANGE_COLOURS = ("#009E73", "#0072B2", "#E69F00", "#BBBBBB")


def _day(moment: datetime | None, zone=None) -> str:
    if moment is None:
        return ""
    moment = moment.astimezone(zone) if zone else moment
    return f"{moment.day} {moment:%B %Y}"


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "–"


def report_text(report: NetworkReport, day: str, zone=None) -> str:
    """The short plain-English summary that goes with the chart (mrkdwn, escaped). Counts only."""
    lines = [
        f"*Your network's report, {escape(day)}*",
        (f"• Needs now: {report.needs_open} open, {report.needs_paired} paired, "
         f"{report.needs_connected} connected, {report.needs_completed} completed"),
        f"• Offers open: {report.offers_open}",
        (f"• Schools taking part: {report.schools_taking_part}; schools that have given help: "
         f"{report.schools_gave}; that have received help: {report.schools_received}"),
    ]
    if report.waiting_review:
        lines.append(f"• Waiting for review: {report.waiting_review}"
                     + (f" ({report.waiting_review_long} for two days or more)" if report.waiting_review_long else ""))
    if report.average_impact is not None:
        lines.append(f"• Average impact from feedback: {report.average_impact:.1f} out of 5 "
                     f"({plural(report.feedback_count, 'answer')})")
    else:
        lines.append("• No feedback on impact yet")
    if report.since is not None:
        lines.append(f"*This school year so far* (since {_day(report.since, zone)})")
        lines.append(f"• {plural(report.needs_posted, 'need')} posted, {plural(report.introductions, 'introduction')}, "
                     f"{report.connections} connected")
        if report.quartiles:
            lines.append("*Needs met, by share of pupils on free school meals* (schools in quarters, counts only)")
            for q in report.quartiles:
                met = (f"{q.met} of {plural(q.needs, 'need')} met ({_percent(q.met, q.needs)})" if q.needs
                       else "no needs posted")
                lines.append(f"• {q.label} ({q.low:.0f}–{q.high:.0f} % FSM, {plural(q.schools, 'school')}): {met}")
        else:
            lines.append("• Too few schools with a known share of free school meals to show needs met by quarter")
        e = report.exchange
        lines.append(f"*Help given and received* (schools): {e.gave_and_received} gave and received, "
                     f"{e.gave_only} gave only, {e.received_only} received only, {e.neither} not yet either")
    if report.by_theme:
        lines.append("*By theme*")
        for theme, counts in report.by_theme.items():
            helped = sum(counts.pairings.get(s, 0) for s in HELPED)
            line = (f"• {escape(theme_label(theme))}: {plural(counts.needs, 'need')}, "
                    f"{plural(counts.offers_open, 'open offer')}, {plural(helped, 'introduction')} so far")
            if counts.average_impact is not None:
                line += f", average impact {counts.average_impact:.1f}"
            lines.append(line)
    if report.gaps:
        lines.append("*Where the network needs offers* (needs outnumber the places still free; a school that could "
                     "offer one of these would help most)")
        lines += [f"• {escape(gap_line(g))}" for g in report.gaps]
    if report.needs_open_suggested:
        lines.append(f"*Themes to confirm*: {report.needs_open_suggested} of {report.needs_open} open needs carry the "
                     "theme Collab suggested. A theme the school confirms (in `/collab list`) is matched more "
                     "surely: worth a reminder to staff.")
    lines.append("_For the network's own improvement: please share the themes, not comparisons between schools._")
    return "\n".join(lines)


def _label_segments(ax, bars, values, colour: str) -> None:
    """The count on each bar segment wide enough to hold it."""
    widest = max((b.get_x() + b.get_width() for b in bars), default=0) or 1
    for bar, value in zip(bars, values):
        if value and bar.get_width() >= widest * 0.05:
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(value),
                    ha="center", va="center", fontsize=8, color=colour)


def _tidy(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.xaxis.get_major_locator().set_params(integer=True)


def _themes_panel(ax, by_theme: dict, states: list[str]) -> None:
    themes = sorted(by_theme, key=lambda t: (-sum(by_theme[t].values()), theme_label(t)))
    labels = [theme_label(t) for t in themes]
    left = [0] * len(themes)
    for state in states:
        values = [by_theme[t].get(state, 0) for t in themes]
        bars = ax.barh(labels, values, left=left, label=STATE_WORDS.get(state, state),
                       color=STATE_COLOURS.get(state, "#777777"), edgecolor="white", linewidth=0.6)
        _label_segments(ax, bars, values, "black" if state in DARK_ON else "white")
        left = [a + b for a, b in zip(left, values)]
    for y, total in enumerate(left):
        ax.text(total, y, f"  {total}", va="center", fontsize=9, fontweight="bold")
    ax.invert_yaxis()
    ax.set_title(f"Pairings by theme ({plural(sum(left), 'pairing')} proposed)", loc="left", fontsize=10)
    ax.set_xlim(0, max(left) * 1.15 + 0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)  # beside, never over bars
    _tidy(ax)


def _quartiles_panel(ax, quartiles) -> None:
    names = [f"{q.label}\n{q.low:.0f}–{q.high:.0f} % FSM" for q in quartiles]
    ys = list(range(len(quartiles)))
    needs = [q.needs for q in quartiles]
    met = [q.met for q in quartiles]
    ax.barh([y - 0.2 for y in ys], needs, height=0.38, color=NEEDS_COLOUR, label="needs posted")
    ax.barh([y + 0.2 for y in ys], met, height=0.38, color=MET_COLOUR, label="met (introduced or further)")
    for y, (a, b) in zip(ys, zip(needs, met)):
        ax.text(a, y - 0.2, f" {a}", va="center", fontsize=8)
        ax.text(b, y + 0.2, f" {b} ({_percent(b, a)})", va="center", fontsize=8)
    ax.set_yticks(ys, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(needs + [1]) * 1.25)
    ax.set_title("Needs met, by share of pupils on free school meals (schools in quarters)", loc="left", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    _tidy(ax)


def _exchange_panel(ax, exchange) -> None:
    parts = [("gave and received", exchange.gave_and_received), ("gave only", exchange.gave_only),
             ("received only", exchange.received_only), ("not yet either", exchange.neither)]
    left = 0
    for (name, value), colour in zip(parts, EXCHANGE_COLOURS):
        if value:
            ax.barh([0], [value], left=left, color=colour, label=f"{name} ({value})", edgecolor="white")
            ax.text(left + value / 2, 0, str(value), ha="center", va="center", fontsize=9,
                    color="black" if colour in ("#E69F00", "#BBBBBB") else "white")
            left += value
    ax.set_yticks([])
    ax.set_xlim(0, max(left, 1))
    ax.set_title(f"Help given and received ({plural(left, 'school')} taking part)", loc="left", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, fontsize="small", frameon=False)
    _tidy(ax)


def render_chart(report: NetworkReport, zone=None) -> bytes | None:
    """The report's picture as PNG bytes (None when there is nothing to draw). No Slack, no pyplot.

    With a school year (`report.since`): pairings by theme this school year (stacked by where they have
    got to, counts on the bars), needs met by quarter of % FSM, and how help flowed; dates in the title.
    """
    yearly = report.since is not None
    by_theme = report.year_by_theme if yearly else {t: c.pairings for t, c in report.by_theme.items() if c.pairings}
    if not by_theme:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    states = report.year_states() if yearly else report.states()
    panels = [("themes", max(2.0, 0.42 * len(by_theme) + 1.1))]
    if yearly and report.quartiles:
        panels.append(("quartiles", 0.55 * len(report.quartiles) + 1.0))
    if yearly:
        panels.append(("exchange", 1.3))
    fig = Figure(figsize=(9, sum(h for _, h in panels) + 0.7), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: no display, no pyplot, safe in a worker thread
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": [h for _, h in panels]}, squeeze=False)[:, 0]
    title = (f"Collab: the school year so far, {_day(report.since, zone)} to {_day(report.at, zone)}" if yearly
             else f"Collab pairings to {_day(report.at, zone)}")
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    for ax, (name, _) in zip(axes, panels):
        if name == "themes":
            _themes_panel(ax, by_theme, states)
        elif name == "quartiles":
            _quartiles_panel(ax, report.quartiles)
        else:
            _exchange_panel(ax, report.exchange)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# --------------------------------------------------------------------------- export and reminders

def export_comment(rows: int) -> str:
    return (f"Here is the export: {plural(rows, 'pairing')}, one a row. It is for leads only: "
            "it holds what schools wrote, so please keep it within the network.")


def preparing(what: str) -> dict:
    return reply(f":hourglass_flowing_sand: Preparing your {what}… I'll send it to you in a direct message.")


def review_reminder(waiting: int, oldest: datetime | None, review_channel: str | None, zone) -> tuple[str, list]:
    """(notification text, blocks) for a lead: pairings have waited two days or more for a decision."""
    are = "pairing is" if waiting == 1 else "pairings are"
    text = f"{waiting} {are} waiting for your review — /collab review"
    detail = f"{waiting} {are} waiting for your review. Type `/collab review` to see {'it' if waiting == 1 else 'them'}"
    if review_channel:
        detail += f", or look in <#{review_channel}>"
    detail += "."
    if oldest is not None:
        detail += f" The oldest has waited since {oldest.astimezone(zone):%a %-d %b}."
    return text, [section(f":wave: {detail}\nThe schools hear nothing until a lead decides, so a quick look helps.")]
