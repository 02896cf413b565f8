"""A private PostgreSQL server for tests: a cluster in a temporary folder, reached only by a
Unix socket there (no TCP), stopped and removed at the end.

initdb refuses to run as root, so as root the server runs as the `postgres` user (which
Debian's package creates). The binaries are found in /usr/lib/postgresql/*/bin, or where
SPECRULES_PG_BIN says.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL = (
    "install Debian's package (`apt-get install -y postgresql`, as .ci/run does) or set "
    "SPECRULES_PG_BIN to the folder holding initdb and pg_ctl"
)


class ServerError(RuntimeError):
    """The test server could not be started."""


@dataclass
class Server:
    root: Path
    socket: Path
    binaries: Path
    prefix: list[str]
    user: str = "specrules"

    def connect(self, **options):
        import psycopg

        return psycopg.connect(
            host=str(self.socket), dbname="postgres", user=self.user, autocommit=True, **options
        )


def find_binaries() -> Path:
    configured = os.environ.get("SPECRULES_PG_BIN")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise ServerError(f"PostgreSQL's initdb and pg_ctl were not found: {INSTALL}")


def _as_owner() -> tuple[list[str], int | None, int | None]:
    """The command prefix to run the server's programs, and the user and group to own its
    folder: as root, the `postgres` user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError(
            f"running as root, and there is no `postgres` user to run the server as: {INSTALL}"
        ) from None
    return ["runuser", "-u", "postgres", "--"], owner.pw_uid, owner.pw_gid


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        if log is not None and log.exists():
            detail += "\n" + log.read_text(errors="replace")[-2000:]
        raise ServerError(f"PostgreSQL: {what} failed: {detail}\n({INSTALL})")


def start() -> Server:
    """A new cluster, started; `stop` it at the end."""
    binaries = find_binaries()
    prefix, uid, gid = _as_owner()
    root = Path(tempfile.mkdtemp(prefix="specrules-pg-"))
    socket = root / "socket"
    socket.mkdir()
    if uid is not None:
        for path in (root, socket):
            os.chown(path, uid, gid)
    root.chmod(0o700)
    data, log = root / "data", root / "server.log"
    server = Server(root, socket, binaries, prefix)
    try:
        _initdb_and_start(server, data, log)
    except ServerError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def _initdb_and_start(server: Server, data: Path, log: Path) -> None:
    prefix, binaries, socket = server.prefix, server.binaries, server.socket
    _run(
        [*prefix, str(binaries / "initdb"), "-D", str(data), "-U", server.user]
        + ["--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"],
        "initdb",
    )
    options = f"-c listen_addresses='' -k {socket} -c fsync=off -c full_page_writes=off"
    _run(
        [*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log)]
        + ["-o", options, "-w", "-t", "60", "start"],
        "starting the server (pg_ctl start)",
        log,
    )


def stop(server: Server) -> None:
    """Stop the server and remove its folder."""
    subprocess.run(
        [*server.prefix, str(server.binaries / "pg_ctl"), "-D", str(server.root / "data")]
        + ["-m", "fast", "-w", "stop"],
        capture_output=True,
        timeout=120,
    )
    shutil.rmtree(server.root, ignore_errors=True)
