"""App Home: a person's school at a glance, and for leads what is waiting for them."""
from __future__ import annotations

from bot.messages.common import context, divider, escape, section
from bot.messages.posts import USAGE, school_line
from matching.themes import THEME_LABELS


def home_view(school=None, posts=None, lead_blocks: list[dict] | None = None) -> dict:
    blocks = [section("*Collab*: schools helping schools. Share what your school needs and what it does well.")]
    if school is None:
        blocks.append(section("You haven't joined a school yet: type `/collab join` and your school's URN or name."))
    else:
        blocks.append(section(f":school: {school_line(school)}"))
        if posts is not None:
            needs = ", ".join(THEME_LABELS[n.theme] for n in posts.needs) or "none yet"
            offers = ", ".join(THEME_LABELS[o.theme] for o in posts.offers) or "none yet"
            blocks.append(section(f"*Needs:* {escape(needs)}\n*Offers:* {escape(offers)}"))
            blocks.append(context("`/collab list` to change them, `/collab matches` to see your pairings."))
    if lead_blocks:
        blocks.append(divider())
        blocks.extend(lead_blocks)
    blocks.append(divider())
    blocks.append(section(USAGE))
    return {"type": "home", "blocks": blocks[:100]}
