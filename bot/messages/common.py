"""The small pieces every message is built from, and the one place user text is escaped."""
from __future__ import annotations

SECTION_LIMIT = 3000


def escape(text: str | None) -> str:
    """Slack's three control characters, so `<!channel>` or `<@U123>` typed by a user pings nobody."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str | None) -> str:
    """What a person typed, from Slack's escaped form: a slash command's text arrives with `&`, `<`
    and `>` as `&amp;`, `&lt;` and `&gt;` (mentions and links stay in angle brackets). Stored as typed,
    and escaped once on the way out, so "maths & English" never shows as "maths &amp;amp; English"."""
    return (text or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def section(markdown: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:SECTION_LIMIT]}}
    if accessory:
        block["accessory"] = accessory
    return block


def context(markdown: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown[:SECTION_LIMIT]}]}


def header(text: str) -> dict:
    return {"type": "header", "text": plain(text, 150)}


def divider() -> dict:
    return {"type": "divider"}


def plain(text: str, limit: int = 75) -> dict:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def button(text: str, action_id: str, value: str = "", style: str | None = None, confirm: dict | None = None) -> dict:
    element = {"type": "button", "text": plain(text), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(*elements: dict, block_id: str | None = None) -> dict:
    block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def option(label: str, value: str) -> dict:
    return {"text": plain(label), "value": value}


def quote(text: str) -> str:
    """User text as a quoted, escaped block: clearly theirs, never interpreted."""
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def reply(text: str, blocks: list[dict] | None = None) -> dict:
    """An ephemeral answer: `text` is the notification fallback, blocks are what people see."""
    return {"text": text[:3000], "blocks": blocks or [section(text)], "response_type": "ephemeral"}


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 need`, `3 needs`, `2 pairings`: a count with its noun agreeing."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def gap_line(gap) -> str:
    """`SEND and inclusion: 3 needs waiting, 1 place free`: a gap (bot/services/gaps.py), counts only.
    "Free", not "offered": the places are what is left of the offers this term, so right after a
    round that paired two attendance offers the line must not say that none was ever made."""
    return (f"{theme_label(gap.theme)}: {plural(gap.needs, 'need')} waiting, "
            f"{plural(gap.places, 'place')} free")


def theme_label(theme: str) -> str:
    """A theme's one label ("Sixth form and careers"), the same on every surface."""
    from matching.themes import THEME_LABELS

    return THEME_LABELS.get(theme, (theme or "").replace("_", " ").capitalize())


def theme_words(theme: str) -> str:
    """The same label inside a sentence: "sixth form and careers", but "SEND and inclusion"."""
    label = theme_label(theme)
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


# The school emoji as the character itself: a walk through the digest saw `:school:` printed as
# text, and a Unicode character renders in every Slack client.
SCHOOL = "\U0001F3EB"
