"""The small pieces every message is built from, and the one place user text is escaped."""
from __future__ import annotations

SECTION_LIMIT = 3000


def escape(text: str | None) -> str:
    """Slack's three control characters, so `<!channel>` or `<@U123>` typed by a user pings nobody."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(markdown: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:SECTION_LIMIT]}}
    if accessory:
        block["accessory"] = accessory
    return block


def context(markdown: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown[:SECTION_LIMIT]}]}


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
