"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, loopback only, a free port.

Started once per test session (tests/conftest.py's `pg_server`); each test gets a fresh database
copied from a template that is already migrated, so a test costs one CREATE DATABASE. The server
runs with fsync off: nothing in it outlives the session. Password authentication is on for TCP,
as on a real team server, so the tests of wrong credentials are real.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from glob import glob
from pathlib import Path

# Stops the server and removes its folder when the test process is gone, even killed (SIGKILL, a CI
# timeout): a session's finaliser does not run then, and a server left behind would hold its port.
WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, root, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while os.path.isdir(root):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(1)
"""
USER = "socialscale_test"
PASSWORD = "pw-for-tests-only"
TEMPLATE = "socialscale_template"


def find_bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres live (PATH first, then Debian's versioned directories)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One server; `new_database()` hands out fresh, migrated databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="socialscale-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._counter = itertools.count(1)
        self._run_as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            name = "postgres" if _has_user("postgres") else "nobody"
            entry = pwd.getpwnam(name)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._run_as = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]

    def _run(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._run_as, *args], check=True, capture_output=True, text=True,
                              cwd=self.root, **kw)  # type: ignore[call-overload, no-any-return]

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        os.chmod(self.root, 0o700)
        if self._run_as:
            uid, gid = (int(a.split("=")[1]) for a in self._run_as[1:3])
            os.chown(pwfile, uid, gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        pwfile.unlink()
        for attempt in range(5):
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                       "-c shared_buffers=32MB")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
                          "-l", str(self.root / "log"), "start")
                self._watch()
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        self._prepare_template()

    def _watch(self) -> None:
        stop = [*self._run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid()), str(self.root), *stop],
                         start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _prepare_template(self) -> None:
        from socialscale.store.db import open_db

        self.admin(f"CREATE DATABASE {TEMPLATE}")
        db = open_db(self.url(TEMPLATE))  # migrated once; every test database is a copy
        db.conn.close()

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), password=PASSWORD, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh, migrated, empty database; its URL (the password comes from PGPASSWORD)."""
        name = f"test_{os.getpid()}_{next(self._counter)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return self.url(name)

    def empty_database(self) -> str:
        """A database with no tables at all (for `db copy --to` and first-run tests)."""
        name = f"empty_{os.getpid()}_{next(self._counter)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
