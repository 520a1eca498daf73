# The bot in a container. Build:  docker build -t expedition-bot .
# Run:  docker run -d --name expedition-bot --env-file .env -v expedition-data:/data expedition-bot
# The token comes from --env-file at run time; .dockerignore keeps .env out of the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A system user without a login shell; the bot needs no root rights.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin expedition

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . && rm -rf build *.egg-info

# The mirror lives on a volume, so it survives a new image. The bot user owns only this folder.
RUN mkdir /data && chown expedition:expedition /data
ENV DATABASE_PATH=/data/expeditions.sqlite3
VOLUME ["/data"]
# Run from the volume, so a relative DATABASE_PATH from an env file still lands on it.
WORKDIR /data

USER expedition

# On SIGTERM the bot waits at most 7 seconds for a running job, so it stops within Docker's default
# 10-second stop timeout.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
