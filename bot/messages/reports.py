"""What leads are shown of the network: the report's words and chart, the export note, review reminders.

Counts and averages for the network and its themes only: no school is named, ranked or compared.
"""
from __future__ import annotations

import io
from datetime import datetime

from bot.domain.pairings import HELPED
from bot.messages.common import escape, reply, section
from bot.services.reports import NetworkReport

STATE_WORDS = {
    "proposed": "waiting for review", "approved": "approved", "introduced": "introduced",
    "connected": "connected", "completed": "completed", "declined": "didn't go ahead", "rejected": "not approved",
}
STATE_COLOURS = {
    "proposed": "#d9d9d9", "approved": "#9ecae1", "introduced": "#6baed6", "connected": "#31a354",
    "completed": "#006d2c", "declined": "#fdae6b", "rejected": "#969696",
}


def theme_label(theme: str) -> str:
    try:
        from matching.themes import THEME_LABELS
    except ImportError:
        THEME_LABELS = {}
    return THEME_LABELS.get(theme, theme.replace("_", " ").capitalize())


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def report_text(report: NetworkReport, day: str) -> str:
    """The short plain-English summary that goes with the chart (mrkdwn, escaped)."""
    lines = [
        f"*Your network's report, {escape(day)}*",
        (f"• Needs: {report.needs_open} open, {report.needs_paired} paired, "
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
                     f"({_plural(report.feedback_count, 'answer')})")
    else:
        lines.append("• No feedback on impact yet")
    if report.by_theme:
        lines.append("*By theme*")
        for theme, counts in report.by_theme.items():
            helped = sum(counts.pairings.get(s, 0) for s in HELPED)
            line = (f"• {escape(theme_label(theme))}: {_plural(counts.needs, 'need')}, "
                    f"{counts.offers_open} open {'offer' if counts.offers_open == 1 else 'offers'}, "
                    f"{_plural(helped, 'introduction')} so far")
            if counts.average_impact is not None:
                line += f", average impact {counts.average_impact:.1f}"
            lines.append(line)
    lines.append("_For the network's own improvement: please share the themes, not comparisons between schools._")
    return "\n".join(lines)


def render_chart(report: NetworkReport) -> bytes | None:
    """Pairings by theme, stacked by state, as PNG bytes (None when there are no pairings). No Slack."""
    if not report.pairings:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    themes = [t for t, c in report.by_theme.items() if c.pairings]
    labels = [theme_label(t) for t in themes]
    fig = Figure(figsize=(8, 1.6 + 0.5 * len(themes)), dpi=100)
    FigureCanvasAgg(fig)  # the Agg canvas: no display, no pyplot, safe in a worker thread
    ax = fig.add_subplot(111)
    left = [0] * len(themes)
    for state in report.states():
        values = [report.by_theme[t].pairings.get(state, 0) for t in themes]
        ax.barh(labels, values, left=left, label=STATE_WORDS.get(state, state),
                color=STATE_COLOURS.get(state, "#999999"))
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("pairings")
    ax.set_title("Pairings by theme")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(themes) > 2 else -0.45),
              ncol=4, fontsize="small", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# --------------------------------------------------------------------------- export and reminders

def export_comment(rows: int) -> str:
    return (f"Here is the export: {_plural(rows, 'pairing')}, one a row. It is for leads only: "
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
