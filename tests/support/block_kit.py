"""Block Kit's rules, checked on what the app really sent: slack_sdk's models plus the rules they miss.

slack_sdk's block models (``Block.parse(...).validate_json()``) catch many length limits, but not
the ones Slack answers with ``invalid_blocks``: an ``action_id`` used twice in one block, a
``block_id`` used twice in one message, more than 50 blocks in a message or 100 in a view, text
objects over their limits where the models are silent. Each rule here is from Slack's Block Kit
reference (docs.slack.dev/reference/block-kit).

    problems = message_problems({"text": ..., "blocks": [...]})
    assert_sent_block_kit(stub)          # every message, view and response the stub received

Only slack_sdk and the standard library; nothing from bot/.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40000          # chat.postMessage `text` (Slack truncates after this)
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
RADIO_OPTIONS = 10
PLACEHOLDER = 150
INPUT_LABEL = 2000
INPUT_HINT = 2000
VIEW_TITLE = 24
VIEW_BUTTON = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")
VIEW_METHODS = ("views.open", "views.publish", "views.update", "views.push")


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def _too_long(problems: list, where: str, what: str, text: str | None, limit: int) -> None:
    if text is not None and len(text) > limit:
        problems.append(f"{where}: {what} is {len(text)} characters (limit {limit})")


def _element_problems(element: dict, where: str) -> list[str]:
    problems: list[str] = []
    kind = element.get("type")
    _too_long(problems, where, "action_id", element.get("action_id"), ACTION_ID)
    if "placeholder" in element:
        _too_long(problems, where, "placeholder", _text(element["placeholder"]), PLACEHOLDER)
    if kind == "button":
        _too_long(problems, where, "button text", _text(element.get("text")), BUTTON_TEXT)
        _too_long(problems, where, "button value", element.get("value"), BUTTON_VALUE)
    options = element.get("options") or []
    if kind in ("static_select", "multi_static_select", "overflow") and len(options) > SELECT_OPTIONS:
        problems.append(f"{where}: {len(options)} options (limit {SELECT_OPTIONS})")
    if kind in ("radio_buttons", "checkboxes") and len(options) > RADIO_OPTIONS:
        problems.append(f"{where}: {len(options)} options (limit {RADIO_OPTIONS})")
    for n, opt in enumerate(options + ([element["initial_option"]] if element.get("initial_option") else [])):
        _too_long(problems, f"{where} option {n}", "text", _text(opt.get("text")), OPTION_TEXT)
        _too_long(problems, f"{where} option {n}", "value", opt.get("value"), OPTION_VALUE)
    if element.get("initial_option") and options and element["initial_option"] not in options:
        problems.append(f"{where}: initial_option is not one of the options")
    confirm = element.get("confirm")
    if confirm:
        for key, limit in CONFIRM.items():
            _too_long(problems, where, f"confirm {key}", _text(confirm.get(key)), limit)
    return problems


def blocks_problems(blocks: Iterable[dict], limit: int, where: str = "message") -> list[str]:
    """Every rule broken by these blocks, as readable lines (empty: all is well)."""
    blocks = list(blocks or [])
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{where}: {len(blocks)} blocks (limit {limit})")
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        at = f"{where} block {n} ({block.get('type')})"
        try:
            Block.parse(block).validate_json()
        except Exception as error:  # slack_sdk's own checks
            problems.append(f"{at}: slack_sdk: {error}")
        block_id = block.get("block_id")
        if block_id is not None:
            _too_long(problems, at, "block_id", block_id, BLOCK_ID)
            if block_id in block_ids:
                problems.append(f"{at}: block_id {block_id!r} used twice in one message")
            block_ids.add(block_id)
        kind = block.get("type")
        if kind == "section":
            if not block.get("text") and not block.get("fields"):
                problems.append(f"{at}: a section needs text or fields")
            _too_long(problems, at, "text", _text(block.get("text")), SECTION_TEXT)
            if block.get("text") and not _text(block["text"]).strip():
                problems.append(f"{at}: empty text")
            fields = block.get("fields") or []
            if len(fields) > SECTION_FIELDS:
                problems.append(f"{at}: {len(fields)} fields (limit {SECTION_FIELDS})")
            for f in fields:
                _too_long(problems, at, "field", _text(f), FIELD_TEXT)
            if block.get("accessory"):
                problems += _element_problems(block["accessory"], at + " accessory")
        elif kind == "header":
            _too_long(problems, at, "header text", _text(block.get("text")), HEADER_TEXT)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > CONTEXT_ELEMENTS:
                problems.append(f"{at}: {len(elements)} elements (1 to {CONTEXT_ELEMENTS})")
            for e in elements:
                _too_long(problems, at, "context text", _text(e), SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > ACTIONS_ELEMENTS:
                problems.append(f"{at}: {len(elements)} elements (1 to {ACTIONS_ELEMENTS})")
            seen: set[str] = set()
            for e in elements:
                action_id = e.get("action_id")
                if action_id in seen:
                    problems.append(f"{at}: action_id {action_id!r} used twice in one block")
                seen.add(action_id)
                problems += _element_problems(e, at)
        elif kind == "input":
            _too_long(problems, at, "label", _text(block.get("label")), INPUT_LABEL)
            _too_long(problems, at, "hint", _text(block.get("hint")), INPUT_HINT)
            problems += _element_problems(block.get("element") or {}, at)
    return problems


def message_problems(message: dict, where: str = "message") -> list[str]:
    """A message: chat.postMessage arguments, an ephemeral ack body or a response_url POST."""
    problems: list[str] = []
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = message.get("text")
    if not blocks and not (text or "").strip() and not message.get("delete_original"):
        problems.append(f"{where}: neither text nor blocks")
    _too_long(problems, where, "text", text, MESSAGE_TEXT)
    if blocks:
        problems += blocks_problems(blocks, MESSAGE_BLOCKS, where)
    return problems


def view_problems(view: dict, where: str = "view") -> list[str]:
    if isinstance(view, str):
        view = json.loads(view)
    problems: list[str] = []
    try:
        View(**view).validate_json()
    except Exception as error:
        problems.append(f"{where}: slack_sdk: {error}")
    for key in ("title", "submit", "close"):
        _too_long(problems, where, key, _text(view.get(key)), VIEW_TITLE if key == "title" else VIEW_BUTTON)
    _too_long(problems, where, "private_metadata", view.get("private_metadata"), PRIVATE_METADATA)
    _too_long(problems, where, "callback_id", view.get("callback_id"), CALLBACK_ID)
    if view.get("type") == "modal" and not view.get("title"):
        problems.append(f"{where}: a modal needs a title")
    if view.get("type") == "modal" and any(b.get("type") == "input" for b in view.get("blocks", [])) \
            and not view.get("submit"):
        problems.append(f"{where}: a modal with inputs needs a submit button")
    problems += blocks_problems(view.get("blocks") or [], VIEW_BLOCKS, where)
    return problems


def ack_problems(body: Any, where: str = "ack") -> list[str]:
    """The HTTP answer to Slack: empty, a message (slash command) or a response_action."""
    if not isinstance(body, dict):
        return []
    if body.get("response_action") in ("update", "push"):
        return view_problems(body["view"], where)
    if body.get("response_action") == "errors":
        return [f"{where}: error for {k!r} is {len(v)} characters (keep under 150)"
                for k, v in body.get("errors", {}).items() if len(v) > 150]
    if "blocks" in body or "text" in body:
        return message_problems(body, where)
    return []


def sent_problems(stub) -> list[str]:
    """Every rule broken by what the app sent to the stub: messages, views and response_url POSTs."""
    problems: list[str] = []
    for call in list(stub.calls):
        if call.method in MESSAGE_METHODS:
            problems += message_problems({"text": call.params.get("text"), "blocks": call.json("blocks")},
                                         call.method)
        elif call.method in VIEW_METHODS:
            problems += view_problems(call.json("view"), call.method)
        elif call.method == "files.completeUploadExternal":
            _too_long(problems, call.method, "initial_comment", call.params.get("initial_comment"), MESSAGE_TEXT)
    for response in list(stub.responses):
        if isinstance(response.body, dict):
            problems += message_problems(response.body, f"response_url {response.name}")
    return problems


def sent_counts(stub) -> int:
    """How many messages, views and responses carried blocks: a test can say it checked something."""
    with_blocks = [c for c in stub.calls if c.method in MESSAGE_METHODS + VIEW_METHODS
                   and (c.json("blocks") or c.json("view"))]
    return len(with_blocks) + sum(1 for r in stub.responses if r.blocks)


def assert_block_kit(problems: list[str]) -> None:
    assert not problems, "Block Kit rules broken:\n  " + "\n  ".join(problems)
