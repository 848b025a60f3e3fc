"""App Home: a person's school at a glance, with the same buttons as `/collab list` and `matches`;
for leads, what is waiting for them and the network's health in one line."""
from __future__ import annotations

from bot.messages.common import SCHOOL, context, divider, header, plural, section
from bot.messages.help import help_blocks
from bot.messages.pairings import pending_blocks
from bot.messages.posts import listing_blocks, pairings_blocks, school_line

VIEW_BLOCKS = 100  # Slack's limit for a Home tab


def _more(shown: int, total: int, command: str, noun: str) -> list[dict]:
    if total <= shown:
        return []
    return [context(f"Showing {shown} of {plural(total, noun)}: `/collab {command}` shows them all.")]


def network_glance(report) -> str:
    """One line of counts for leads: the network as a whole, no school named."""
    line = (f"{plural(report.needs_open, 'need')} open · {report.needs_paired} under way · "
            f"{report.needs_connected + report.needs_completed} connected · {plural(report.offers_open, 'offer')} open · "
            f"{plural(report.schools_taking_part, 'school')} taking part")
    if report.waiting_review_long:
        line += f"\n:hourglass: {plural(report.waiting_review_long, 'pairing')} waiting two days or more for review"
    return line


def home_view(school=None, posts=None, pairings=None, lead=None, is_lead: bool = False, commands=()) -> dict:
    """`posts` and `pairings` are pages from bot.services; `lead` is (pending views, pending total, network
    report); `commands` the rows of the `/collab` table, for the help at the foot."""
    blocks = [header("Collab"),
              section("Schools helping schools. Share what your school needs and what it does well.")]
    if school is None:
        blocks.append(section("You haven't joined a school yet: type `/collab join` and your school's URN or name."))
    else:
        blocks.append(section(f"{SCHOOL} {school_line(school)}"))
        if posts is not None:
            blocks += [divider(), section(f"*Your school's needs and offers* ({posts.total})")]
            blocks += listing_blocks(posts)
            blocks += _more(len(posts.needs) + len(posts.offers), posts.total, "list", "post")
        if pairings is not None:
            blocks += [divider(), section(f"*Your school's pairings* ({pairings.total} going on)")]
            if pairings.total:
                blocks += pairings_blocks(pairings)
            else:
                blocks.append(section("None going on just now. Leads look at new pairings every week."))
            blocks += _more(len(pairings.items), pairings.total, "matches", "pairing")
    if lead is not None:
        waiting, total, report = lead
        blocks += [divider(), section("*The network at a glance* (leads only)\n" + network_glance(report))]
        blocks += pending_blocks(waiting, total)
    blocks.append(divider())
    blocks += help_blocks(commands, is_lead)
    if len(blocks) > VIEW_BLOCKS:  # never expected with the page sizes above; Slack would refuse it all
        blocks = blocks[:VIEW_BLOCKS - 1] + [context("There's more: `/collab list` and `/collab matches` show it all.")]
    return {"type": "home", "blocks": blocks}
