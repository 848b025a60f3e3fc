"""manifest.yml is a valid Slack app manifest and asks for exactly what Collab uses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "slack" / "manifest_schema"
URL = "https://collab.example.org/slack/events"

EXPECTED_BOT_SCOPES = {"commands", "chat:write", "im:write", "mpim:write", "users:read", "files:write",
                       # the outbox's look-up before re-sending a message whose answer was lost
                       "im:history", "mpim:history", "channels:history", "groups:history"}
EXPECTED_BOT_EVENTS = {"app_home_opened", "app_uninstalled", "tokens_revoked", "message.im"}


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def _slack_errors(doc: dict) -> list[str]:
    """Errors against Slack's own schema for the manifest's major version (self-contained, draft-07)."""
    version = (doc.get("_metadata") or {}).get("major_version", 1)
    schema = _schema(f"schemas_manifest.schema.{version}.0.0.json")
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_manifest_valid_against_slack_schema(manifest):
    assert manifest["_metadata"]["major_version"] == 1
    assert _slack_errors(manifest) == []


def test_manifest_valid_against_slack_router_schema(manifest):
    """manifest.schema.json picks the version schema by _metadata.major_version through remote
    $refs; resolve them to the vendored copies (no network)."""
    base = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
    registry = Registry().with_resources(
        (base + f"manifest.schema.{v}.0.0.json", Resource.from_contents(_schema(f"schemas_manifest.schema.{v}.0.0.json")))
        for v in (1, 2))
    validator = jsonschema.Draft7Validator(_schema("manifest.schema.json"), registry=registry)
    assert [e.message for e in validator.iter_errors(manifest)] == []


def test_manifest_valid_against_schemastore_schema(manifest):
    schema = _schema("schemastore_slack-app-manifest.json")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft4Validator(schema).iter_errors(manifest)]
    assert errors == []


def test_schema_check_has_teeth(manifest):
    """The schema really rejects broken manifests (so the tests above mean something)."""
    broken = copy.deepcopy(manifest)
    broken["features"]["slash_commands"][0]["command"] = "collab"  # must start with /
    broken["display_information"]["description"] = "x" * 141
    broken["settings"]["interactivity"].pop("is_enabled")
    broken["settings"]["made_up_setting"] = True
    assert len(_slack_errors(broken)) == 4
    assert _slack_errors(_schema("tests_manifests_v1_manifest.valid.json")) == []


def test_bot_scopes_are_exactly_the_ones_collab_needs(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), "duplicate scope"
    assert set(bot) == EXPECTED_BOT_SCOPES, (
        f"missing {EXPECTED_BOT_SCOPES - set(bot)}, unneeded {set(bot) - EXPECTED_BOT_SCOPES}")
    assert not scopes.get("user"), "Collab acts only as its bot; it needs no user scopes"
    assert not scopes.get("bot_optional") and not scopes.get("user_optional")


def test_events_are_exactly_the_ones_collab_handles(manifest):
    subs = manifest["settings"]["event_subscriptions"]
    assert subs["request_url"] == URL
    assert subs["bot_events"] and set(subs["bot_events"]) == EXPECTED_BOT_EVENTS
    assert len(subs["bot_events"]) == len(EXPECTED_BOT_EVENTS)
    assert not subs.get("user_events")


def test_slash_command_interactivity_and_app_home(manifest):
    [cmd] = manifest["features"]["slash_commands"]
    assert cmd["command"] == "/collab" and cmd["url"] == URL and cmd["should_escape"] is True
    assert cmd["usage_hint"].startswith("[need|offer|join|list|matches|pause|help]")
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": URL}
    assert manifest["features"]["app_home"] == {"home_tab_enabled": True, "messages_tab_enabled": True,
                                                "messages_tab_read_only_enabled": False}
    assert manifest["features"]["bot_user"] == {"display_name": "Collab", "always_online": False}
    assert manifest["display_information"]["name"] == "Collab"
    settings = manifest["settings"]
    assert (settings["org_deploy_enabled"], settings["socket_mode_enabled"], settings["token_rotation_enabled"]) \
        == (False, False, False)
    assert not manifest["features"].get("shortcuts")


def test_description_is_british_english(manifest):
    text = " ".join(str(manifest["display_information"][k]) for k in ("description", "long_description"))
    for american in ("favor", "color ", "organization", "program ", "center", "analyze", "prioritize"):
        assert american not in text.lower(), american
