"""An OS file lock beside the database, so that only one bot process runs the scheduled jobs.

Two processes syncing and announcing from one database would post every announcement twice.
`fcntl.flock` locks are released by the kernel when the process dies, even by SIGKILL, so a
crashed bot never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def lock_path_for(database_path: str | Path) -> Path:
    """Return the lock file of a database: `<database>.lock` in the same folder."""
    path = Path(database_path)
    return path.with_name(path.name + ".lock")


class ProcessLock:
    """A non-blocking exclusive lock on one file, held until `release` or the process ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._descriptor: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; return False when another process holds it."""
        if self._descriptor is not None:
            return True

        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        except OSError:
            os.close(descriptor)
            raise

        # The pid is only a hint for an operator who looks at the file; the lock itself decides.
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor
        log.info("process lock taken on %s", self.path)
        return True

    def release(self) -> None:
        """Release the lock if held. Closing the file releases it."""
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
        log.info("process lock released on %s", self.path)
