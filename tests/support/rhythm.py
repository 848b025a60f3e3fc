"""Helpers for the tests of the weekly rhythm (digests, reciprocity, expiry, the clock).

A network written straight to the database (schools, members, posts, pairings in any state
with the timestamps a test needs), and a real SlackMessenger (slack_sdk with the app's retry
handlers) pointed at the stub, so 429s and 5xx are retried exactly as in production.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from bot.slack.app import make_client
from bot.config import Settings
from bot.slack.messenger import SlackMessenger
from bot.services.workspaces import ensure_workspace
from models import Member, Need, Offer, OutgoingMessage, Pairing, School, Workspace
from models.db import session_scope

TEAM = "T0COLLAB1"
LEAD = "U0LEAD0001"

SCHOOLS = {
    "colgate": dict(urn="126013", name="Colgate Primary School", phase="Primary", local_authority="West Sussex"),
    "hinchley": dict(urn="136712", name="Hinchley Wood School", phase="Secondary", local_authority="Surrey"),
    "stmary": dict(urn="125012", name="St Mary's Church of England Primary School", phase="Primary",
                   local_authority="Surrey"),
    "stmaryrc": dict(urn="125964", name="St Mary's Catholic Primary School", phase="Primary",
                     local_authority="Surrey"),
}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def settings_for(database_url: str, api_url: str = "http://127.0.0.1:9/api/", **overrides) -> Settings:
    values = dict(
        slack_bot_token="xoxb-test-token-1234", slack_signing_secret="secret", slack_api_url=api_url,
        database_url=database_url, leads=frozenset({LEAD}), review_channel="C0REVIEW01",
        slack_retry_wait=0,  # Slack's retries happen at once: no real back-off sleeps in tests
    )
    values.update(overrides)
    return Settings(**values)


def messenger_for(settings: Settings) -> SlackMessenger:
    return SlackMessenger(make_client(settings))


class Network:
    """Schools by short name; members by Slack id; ids of what the test creates."""

    def __init__(self, engine, team: str = TEAM):
        self.engine = engine
        with session_scope(engine) as session:
            have = {s.urn: s.id for s in session.exec(select(School)).all()}
            for row in SCHOOLS.values():
                if row["urn"] not in have:
                    school = School(**row)
                    session.add(school)
                    session.flush()
                    have[row["urn"]] = school.id
            self.workspace_id = ensure_workspace(session, team).id
        self.school = {short: have[row["urn"]] for short, row in SCHOOLS.items()}
        self.members: dict[str, int] = {}

    def workspace(self, session=None) -> Workspace:
        if session is not None:
            return session.get(Workspace, self.workspace_id)
        with session_scope(self.engine) as session:
            return session.get(Workspace, self.workspace_id)

    def member(self, user_id: str, school: str | None, lead: bool = False, paused_until=None) -> int:
        with session_scope(self.engine) as session:
            row = Member(workspace_id=self.workspace_id, slack_user_id=user_id,
                         school_id=self.school[school] if school else None, is_lead=lead,
                         paused_until=paused_until)
            session.add(row)
            session.flush()
            self.members[user_id] = row.id
            return row.id

    # A theme written here was chosen by the poster unless ``chosen=False`` (our suggestion).
    def need(self, school: str, text: str = "help with persistent absence in Year 9", theme: str = "attendance",
             by: str | None = None, created: datetime | None = None, status: str = "open", chosen: bool = True) -> int:
        return self._post(Need, school, text, theme, by, created, status, theme_chosen=chosen)

    def offer(self, school: str, text: str = "first-day calling and family liaison", theme: str = "attendance",
              by: str | None = None, created: datetime | None = None, status: str = "open", capacity: int = 1,
              chosen: bool = True) -> int:
        return self._post(Offer, school, text, theme, by, created, status, capacity_per_term=capacity,
                          theme_chosen=chosen)

    def _post(self, table, school, text, theme, by, created, status, **extra) -> int:
        with session_scope(self.engine) as session:
            values = dict(workspace_id=self.workspace_id, school_id=self.school[school], text=text, theme=theme,
                          status=status, member_id=self.members.get(by) if by else None, **extra)
            if created is not None:
                values.update(created_at=created, updated_at=created)
            row = table(**values)
            session.add(row)
            session.flush()
            return row.id

    def pairing(self, taker: str, giver: str, state: str = "introduced", at: datetime | None = None,
                need_id: int | None = None, offer_id: int | None = None, theme: str = "attendance") -> int:
        """A pairing between two schools in `state`, its timestamps at `at` (default: now)."""
        at = at or datetime.now(timezone.utc)
        need_id = need_id or self.need(taker, theme=theme, created=at, status="open")
        offer_id = offer_id or self.offer(giver, theme=theme, created=at, status="open")
        stamps = dict(created_at=at, updated_at=at)
        if state != "proposed":
            stamps.update(decided_at=at, decided_by=LEAD)
        if state in ("introduced", "connected", "completed", "declined"):
            stamps["introduced_at"] = at
        if state in ("connected", "completed"):
            stamps["connected_at"] = at
        if state == "completed":
            stamps["completed_at"] = at
        with session_scope(self.engine) as session:
            row = Pairing(workspace_id=self.workspace_id, need_id=need_id, offer_id=offer_id, state=state, **stamps)
            session.add(row)
            session.flush()
            return row.id


def ledger(engine, kind: str | None = None) -> list[OutgoingMessage]:
    with session_scope(engine) as session:
        statement = select(OutgoingMessage).order_by(OutgoingMessage.id)
        if kind:
            statement = statement.where(OutgoingMessage.kind == kind)
        return list(session.exec(statement).all())


def posted_to(stub, ok: bool | None = True) -> list[str]:
    """The channels chat.postMessage was called for (DMs are posted to the user id)."""
    return [c.params.get("channel") for c in stub.calls_to("chat.postMessage", ok=ok)]


def texts(stub) -> list[str]:
    return [c.params.get("text") or "" for c in stub.calls_to("chat.postMessage", ok=True)]


def all_text(call) -> str:
    """Everything a person would read in one chat.postMessage: the text and every block's words."""
    import json

    return (call.params.get("text") or "") + "\n" + json.dumps(call.json("blocks") or [], ensure_ascii=False)
