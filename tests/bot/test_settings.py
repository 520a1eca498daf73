"""Settings: defaults, validation and the one-line start-up errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import DEFAULT_LL2_BASE_URL, Settings, SettingsError, load_settings

SETTING_NAMES = tuple(name.upper() for name in Settings.model_fields)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Run in an empty folder (no .env) with none of the bot's settings in the environment."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_stay_inside_free_tier(clean_environment) -> None:
    settings = load_settings()

    assert settings.ll2_base_url == DEFAULT_LL2_BASE_URL
    assert settings.ll2_api_key is None
    assert settings.discord_api_base is None
    assert settings.dev_guild_id is None
    # A full sync of the real data set costs 2 requests; LL2's free tier allows 15 per hour.
    syncs_per_hour = 60 / settings.sync_interval_minutes
    assert syncs_per_hour * 2 <= settings.ll2_requests_per_hour < 15


def test_env_file_is_read(clean_environment, tmp_path) -> None:
    (tmp_path / ".env").write_text("LL2_BASE_URL=http://127.0.0.1:9/2.3.0/\nDEV_GUILD_ID=42\n")

    settings = load_settings()

    assert settings.ll2_base_url == "http://127.0.0.1:9/2.3.0"
    assert settings.dev_guild_id == 42


def test_empty_optional_values_are_unset(clean_environment, monkeypatch) -> None:
    monkeypatch.setenv("LL2_API_KEY", "")
    monkeypatch.setenv("DISCORD_API_BASE", "")
    monkeypatch.setenv("DEV_GUILD_ID", "")

    settings = load_settings()

    assert settings.ll2_api_key is None
    assert settings.discord_api_base is None
    assert settings.dev_guild_id is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SYNC_INTERVAL_MINUTES", "0"),
        ("SYNC_INTERVAL_MINUTES", "often"),
        ("LL2_REQUESTS_PER_HOUR", "-1"),
        ("LL2_BASE_URL", "ll.thespacedevs.com"),
        ("DEV_GUILD_ID", "my-server"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_invalid_value_names_setting(clean_environment, monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert message.startswith(f"{name} is invalid")
    assert "\n" not in message


def test_missing_token_says_what_to_do(clean_environment) -> None:
    with pytest.raises(SettingsError, match="DISCORD_TOKEN is not set"):
        load_settings().require_discord_token()


def test_secrets_hidden_in_repr(clean_environment, monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "token-value-that-must-not-leak")
    monkeypatch.setenv("LL2_API_KEY", "key-value-that-must-not-leak")

    text = repr(Settings()) + str(Settings().model_dump())

    assert "token-value-that-must-not-leak" not in text
    assert "key-value-that-must-not-leak" not in text


def test_cli_reports_invalid_setting_in_one_line(clean_environment, tmp_path) -> None:
    environment = {"PATH": "", "SYNC_INTERVAL_MINUTES": "never", "PYTHONPATH": ""}

    finished = subprocess.run(
        [sys.executable, "-m", "bot", "search", "Kelly"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    lines = finished.stderr.strip().splitlines()
    assert finished.returncode == 2
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("error: SYNC_INTERVAL_MINUTES is invalid")
