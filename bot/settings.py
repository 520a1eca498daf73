"""Settings read from the environment and from a `.env` file in the working directory."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DEFAULT_LL2_BASE_URL = "https://ll.thespacedevs.com/2.3.0"


class SettingsError(Exception):
    """A missing or invalid setting. The message names the setting and how to fix it."""


class Settings(BaseSettings):
    """Every setting of the bot. `.env.example` documents each one with its default and unit."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = None
    ll2_base_url: str = DEFAULT_LL2_BASE_URL
    ll2_api_key: SecretStr | None = None
    database_path: Path = Path("data/expeditions.sqlite3")
    sync_interval_minutes: int = Field(default=30, ge=1, le=24 * 60)
    announce_interval_seconds: int = Field(default=60, ge=1, le=24 * 60 * 60)
    ll2_requests_per_hour: int = Field(default=8, ge=1, le=10_000)
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    # A pager disables itself through the token of the last interaction, which Discord keeps
    # valid for 15 minutes, so the timeout stays below that.
    view_timeout_seconds: float = Field(default=180, ge=1, le=840)

    @field_validator(
        "discord_token", "ll2_api_key", "discord_api_base", "discord_gateway_url", "dev_guild_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("ll2_base_url", "discord_api_base", "discord_gateway_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an absolute URL such as https://example.org/path")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def require_discord_token(self) -> str:
        """Return the Discord token, or raise SettingsError when it is not set."""
        if self.discord_token is None:
            raise SettingsError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and put your bot's token there."
            )
        return self.discord_token.get_secret_value()


def load_settings() -> Settings:
    """Read the settings, turning pydantic's validation report into one SettingsError line."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise SettingsError(
            f"{name} is invalid ({first['msg']}): fix it in .env or the environment; "
            ".env.example lists every setting."
        ) from None
