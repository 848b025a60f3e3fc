"""Lead sub-commands for seeing the network: `/collab report` (summary and chart) and `/collab export` (CSV).

Both acknowledge at once, then build the file and upload it to the lead's DM with files_upload_v2.
"""
from __future__ import annotations

import logging

from bot.messages import reports as views
from bot.slack.listeners.commands.pairings import tell
from bot.slack.listeners.invocation import Invocation
from bot.services import reports
from bot.services.calendar import school_year_start
from models import utcnow

log = logging.getLogger(__name__)


def export(inv: Invocation) -> None:
    inv.ack(**views.preparing("export"))
    inv.deps.after_ack(_send_export, inv)


def report(inv: Invocation) -> None:
    inv.ack(**views.preparing("report"))
    inv.deps.after_ack(_send_report, inv)


def _dm(inv: Invocation) -> str:
    return inv.client.conversations_open(users=inv.user_id)["channel"]["id"]


def names_of(client, user_ids) -> dict[str, str]:
    """People's names from Slack (users.info), for the export; anyone Slack can't name is left out."""
    names = {}
    for user_id in sorted(user_ids):
        try:
            user = client.users_info(user=user_id)["user"]
        except Exception:
            continue
        profile = user.get("profile") or {}
        name = profile.get("real_name") or user.get("real_name") or profile.get("display_name") or user.get("name")
        if name and not user.get("deleted"):
            names[user_id] = name
    return names


def _send_export(inv: Invocation) -> None:
    zone = inv.deps.settings.zone
    try:
        with inv.unit() as (session, workspace):
            people = reports.export_people(session, workspace)
        names = names_of(inv.client, people)  # Slack calls outside the unit of work
        with inv.unit() as (session, workspace):
            text = reports.pairings_csv(session, workspace, zone, names)
            rows = reports.count_rows(session, workspace)
        day = utcnow().astimezone(zone).date().isoformat()
        inv.client.files_upload_v2(
            channel=_dm(inv), content=text.encode("utf-8-sig"),  # the BOM lets Excel read it as UTF-8
            filename=f"collab-pairings-{day}.csv", title=f"Collab pairings, {day}",
            initial_comment=views.export_comment(rows),
        )
    except Exception:
        log.exception("export failed")
        tell(inv.client, inv.channel_id, inv.user_id,
             ":warning: Sorry, I couldn't send the export. Please try again, or ask an operator to look at the logs.")


def _send_report(inv: Invocation) -> None:
    zone = inv.deps.settings.zone
    try:
        now = utcnow()
        since = school_year_start(now, inv.deps.settings)
        with inv.unit() as (session, workspace):
            facts = reports.network_report(session, workspace, now, since=since)
        day = now.astimezone(zone).strftime("%-d %B %Y")
        summary = views.report_text(facts, day, zone)
        chart = views.render_chart(facts, zone)
        channel = _dm(inv)
        if chart is None:
            inv.client.chat_postMessage(channel=channel,
                                        text=summary + "\nNo pairings yet this school year, so no chart this time.")
            return
        inv.client.files_upload_v2(
            channel=channel, content=chart, filename=f"collab-report-{now.astimezone(zone):%Y-%m-%d}.png",
            title=f"Collab: the school year so far, {day}", initial_comment=summary,
        )
    except Exception:
        log.exception("report failed")
        tell(inv.client, inv.channel_id, inv.user_id,
             ":warning: Sorry, I couldn't make the report. Please try again, or ask an operator to look at the logs.")
