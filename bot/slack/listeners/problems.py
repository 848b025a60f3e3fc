"""The one place a problem becomes the user's reply, so listeners just raise `CollabError`.

Bolt runs its middleware before a listener, never around it, so a Bolt middleware cannot see what
a listener raises; and Bolt's error hook belongs to the web edge (bot/web/wsgi.py logs there and the
request guard turns Bolt's 500 into a polite apology). So the two ways a listener runs are wrapped
here instead:

* ``answering_command_problems`` wraps every `/collab` sub-command (the dispatcher in
  listeners/commands): a ``CollabError`` becomes the ephemeral reply, with what they typed given
  back; anything else goes on to Bolt, and the request guard answers it (bot/web/guard.py);
* ``answering_problems`` wraps the work buttons do after the acknowledgement (``ack_first``):
  a ``CollabError`` is answered where the user clicked, anything else gets the apology.

Modal submissions keep their own mapping, since a problem belongs beside the field it is about.
A ``CollabError``'s message is written for the user (bot/domain/errors.py). Anything else is logged
by its type and where it happened only: an exception's message can quote what someone typed.
"""
from __future__ import annotations

import logging
import os
import traceback
from functools import wraps
from typing import Callable

from bot.domain.errors import CollabError
from bot.messages.posts import problem_reply

log = logging.getLogger(__name__)
SORRY = ("Sorry, something went wrong on our side and nothing was changed. "
         "Please try again in a minute; if it keeps happening, tell your network lead.")


def _where(error: Exception) -> str:
    """`file.py:line in function` for each of our frames: where, never what (no message, no source)."""
    frames = traceback.extract_tb(error.__traceback__)
    return " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames[-4:]))


def words_for(error: Exception) -> str:
    """What the user is told: a CollabError's own words, otherwise an apology (and a log line for us)."""
    if isinstance(error, CollabError):
        return str(error)
    log.error("a listener failed with %s at %s", type(error).__name__, _where(error))
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


def answer_problem(error: Exception, body: dict, respond, client) -> None:
    tell(body, respond, client, problem_reply(words_for(error)))


def answering_problems(work: Callable) -> Callable:
    """`work(body, context, client, respond)`, with any problem answered to the person who clicked."""

    @wraps(work)
    def guarded(body, context, client, respond) -> None:
        try:
            work(body, context, client, respond)
        except Exception as error:
            answer_problem(error, body, respond, client)

    return guarded


def answering_command_problems(handler: Callable) -> Callable:
    """`handler(invocation)`, with a CollabError acknowledged as the reply, what they typed given back."""

    @wraps(handler)
    def guarded(inv) -> None:
        try:
            handler(inv)
        except CollabError as problem:
            inv.ack(**problem_reply(str(problem), inv.typed or None))

    return guarded
