"""Settings: read from the environment, one clear line when something is missing or wrong."""
import subprocess
import sys

import pytest

from bot.config import SettingsError, load_settings


def test_defaults():
    settings = load_settings({})
    assert settings.database_url is None
    assert settings.timezone == "Europe/London"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.expiry_weeks == 12


def test_values_are_read_and_tidied():
    settings = load_settings({
        "SLACK_API_URL": "http://127.0.0.1:9999/api", "COLLAB_LEADS": " U1, U2 ,,",
        "COLLAB_REVIEW_CHANNEL": "C123", "COLLAB_WEIGHT_DISADVANTAGE": "0.3",
    })
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.leads == frozenset({"U1", "U2"})
    assert settings.weights == {"disadvantage": 0.3}


def test_slack_retry_waits_and_timeout_are_settings():
    assert (load_settings({}).slack_retry_wait, load_settings({}).slack_timeout) == (1.0, 15.0)
    settings = load_settings({"COLLAB_SLACK_RETRY_WAIT": "0", "COLLAB_SLACK_TIMEOUT": "5"})
    assert (settings.slack_retry_wait, settings.slack_timeout) == (0.0, 5.0)


@pytest.mark.parametrize("env, named", [
    ({"COLLAB_TIMEZONE": "Mars/Olympus"}, "COLLAB_TIMEZONE"),
    ({"COLLAB_EXPIRY_WEEKS": "soon"}, "COLLAB_EXPIRY_WEEKS"),
    ({"COLLAB_EXPIRY_WEEKS": "0"}, "COLLAB_EXPIRY_WEEKS"),
    ({"COLLAB_WEIGHT_PLACE": "lots"}, "COLLAB_WEIGHT_PLACE"),
    ({"COLLAB_WEIGHT_PLCE": "0.2"}, "unknown weight 'plce'"),
    ({"COLLAB_WEIGHT_PLACE": "-1"}, "must be a number >= 0"),
    ({"COLLAB_SLACK_RETRY_WAIT": "soon"}, "COLLAB_SLACK_RETRY_WAIT must be a number"),
    ({"COLLAB_SLACK_RETRY_WAIT": "-1"}, "COLLAB_SLACK_RETRY_WAIT must be between 0 and 10"),
    ({"COLLAB_SLACK_TIMEOUT": "0"}, "COLLAB_SLACK_TIMEOUT"),
])
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_require_names_the_first_missing_setting():
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def test_missing_setting_is_one_line_and_exit_2(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['serve', '--port', '0']))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["collab: SLACK_BOT_TOKEN is not set (see .env.example)"]


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("COLLAB_REVIEW_CHANNEL=C0FROMFILE\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLLAB_REVIEW_CHANNEL", raising=False)
    assert load_settings().review_channel == "C0FROMFILE"


def test_socket_mode_without_an_app_token_names_it(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['serve', '--socket-mode']))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["collab: SLACK_APP_TOKEN is not set (see .env.example)"]
