"""The one place a problem becomes the user's reply, so listeners just raise `CollabError`.

Bolt runs its middleware before a listener, never around it, so a middleware cannot see what a
listener raises. Two hooks see everything instead:

* ``on_listener_error`` is Bolt's error handler (registered in bot/slack/app.py): whatever a
  listener raises before its acknowledgement becomes a 200 with the user's reply (a slash command's
  ephemeral answer, a modal's error beside its first field), never a 500;
* ``answering_problems`` wraps the work listeners do after the acknowledgement (``ack_first``):
  a ``CollabError`` is answered where the user clicked, anything else gets a short apology.

A ``CollabError``'s message is written for the user (bot/domain/errors.py). Anything else is logged
by its type and traceback only: an exception's message can hold what someone typed.
"""
from __future__ import annotations

import json
import logging
import traceback
from functools import wraps
from typing import Callable

from slack_bolt import BoltResponse

from bot.domain.errors import CollabError
from bot.messages.posts import problem_reply

log = logging.getLogger(__name__)
SORRY = ("Sorry, something went wrong on our side and nothing was changed. "
         "Please try again in a minute; if it keeps happening, tell your network lead.")
ERROR_LIMIT = 150  # Slack shows at most this much beside a modal's field


def words_for(error: Exception) -> str:
    """What the user is told: a CollabError's own words, otherwise an apology (and a log line for us)."""
    if isinstance(error, CollabError):
        return str(error)
    log.error("a listener failed with %s:\n%s", type(error).__name__,
              "".join(traceback.format_tb(error.__traceback__)))
    return SORRY


def tell(body: dict, respond, client, message: dict) -> None:
    """A private answer to whoever acted: on the message they used, or by DM (App Home, modals)."""
    try:
        if body.get("response_url") and respond is not None:
            respond(replace_original=False, **message)
        elif client is not None and body.get("user", {}).get("id"):
            message = {k: v for k, v in message.items() if k != "response_type"}
            client.chat_postMessage(channel=body["user"]["id"], **message)
    except Exception as failure:  # telling them failed too: nothing more we can do, and no user text logged
        log.warning("could not tell the user about a problem (%s)", type(failure).__name__)


def answer_problem(error: Exception, body: dict, respond, client, words: str | None = None) -> None:
    tell(body, respond, client, problem_reply(words or words_for(error)))


def answering_problems(work: Callable) -> Callable:
    """`work(body, context, client, respond)`, with any problem answered to the person who clicked."""

    @wraps(work)
    def guarded(body, context, client, respond) -> None:
        try:
            work(body, context, client, respond)
        except Exception as error:
            answer_problem(error, body, respond, client)

    return guarded


def _json(payload: dict) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})


def _first_input(view: dict) -> str | None:
    return next((b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"), None)


def on_listener_error(error: Exception, body: dict, respond, client, context) -> BoltResponse:
    """Bolt's error handler: the user's reply for what a listener raised, always with status 200.

    A reply that needs a Slack call (respond, a DM) waits until the acknowledgement has gone.
    """
    words = words_for(error)
    body = body or {}
    deps = (context or {}).get("deps")

    def later(*args) -> None:
        if deps is not None:
            deps.after_ack(answer_problem, *args)
        else:
            answer_problem(*args)

    if body.get("command"):  # a slash command: the ephemeral answer, with what they typed given back
        return _json(problem_reply(words, body.get("text") or None))
    if body.get("type") == "view_submission":
        block_id = _first_input(body.get("view") or {})
        if block_id:
            return _json({"response_action": "errors", "errors": {block_id: words[:ERROR_LIMIT]}})
        later(error, body, None, client, words)
        return BoltResponse(status=200, body="")
    if body.get("type") == "block_actions":
        later(error, body, respond, client, words)
    return BoltResponse(status=200, body="")
