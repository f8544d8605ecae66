"""A real FlexMeasures server for tests: web process and scheduling worker.

:func:`running_flexmeasures` creates a fresh PostgreSQL database on 127.0.0.1:5432
(user ``postgres``, trust auth), configures FlexMeasures for it and for a free Redis
database number on 127.0.0.1:6379, runs FlexMeasures' own CLI commands (``db
upgrade``, ``add initial-structure``, ``add account``, ``add user``, ``add asset``) in
one process, then starts ``flexmeasures run`` and ``flexmeasures jobs run-worker
--queue scheduling`` bound to 127.0.0.1, with their logs in the work directory. At
exit both processes are stopped (their whole process groups), the database is
dropped and the Redis database flushed.

Configuration: environment variables for what FlexMeasures reads from the
environment, and a ``.flexmeasures.cfg`` in the work directory (found through
``HOME``, set to the work directory for the server's processes only) for the typed
settings it reads only from its config file.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
EMAIL, PASSWORD = "twin-tests@cariflex.org", "cariflex-" + secrets.token_hex(8)
START_TIMEOUT_S = 120.0

CONFIG_FILE = """\
from datetime import timedelta
# FlexMeasures 1.0.1's default "1 week" crashes Flask-Security 5.9 at start-up
SECURITY_TWO_FACTOR_LOGIN_VALIDITY = timedelta(weeks=1)
SECURITY_PASSWORD_CHECK_BREACHED = None  # would ask api.pwnedpasswords.com
FLEXMEASURES_REDIS_PORT = {redis_port}
FLEXMEASURES_REDIS_DB_NR = {redis_db}
FLEXMEASURES_LP_SOLVER = "highspy"
FLEXMEASURES_API_TRIGGER_RATE_LIMIT = "10000 per minute"  # default: 10 per 5 minutes
FLEXMEASURES_CREATE_TEMPLATE_ASSETS_ON_STARTUP = False
TRUSTED_HOSTS = ["127.0.0.1", "localhost"]
FLEXMEASURES_TIMEZONE = "America/Martinique"  # default: Asia/Seoul
"""

# FlexMeasures' CLI commands, run through Flask's CLI runner in one process (each
# `flexmeasures ...` call would spend ~6 s importing FlexMeasures)
SETUP_SCRIPT = """\
import getpass, json, os, sys
from sqlalchemy import select
from flexmeasures.app import create
from flexmeasures.data import db
from flexmeasures.data.models.generic_assets import GenericAsset, GenericAssetType
from flexmeasures.data.models.user import Account

app = create()
runner = app.test_cli_runner()
getpass.getpass = lambda prompt="": os.environ["CARIFLEX_FM_PASSWORD"]  # `add user` asks

def cli(*args):
    sys.argv = ["flexmeasures", *args]  # FlexMeasures checks it is run as its CLI
    result = runner.invoke(args=list(args))
    print("$ flexmeasures", *args, "\\n" + result.output, flush=True)
    if result.exit_code != 0:
        raise SystemExit(f"flexmeasures {' '.join(args)} failed: {result.exception!r}")

def one(model, **by):
    with app.app_context():
        return db.session.execute(select(model).filter_by(**by)).scalar_one().id

cli("db", "upgrade")
cli("add", "initial-structure")
cli("add", "account", "--name", "cariflex")
account = one(Account, name="cariflex")
cli("add", "user", "--username", "twin-tests", "--email", os.environ["CARIFLEX_FM_EMAIL"],
    "--account", str(account), "--roles", "account-admin", "--timezone", "America/Martinique")
cli("add", "asset", "--name", "cariflex site", "--account", str(account), "--asset-type",
    str(one(GenericAssetType, name="building")), "--latitude", "14.6", "--longitude", "-61.0")
print("IDS " + json.dumps({"account": account,
                           "asset": one(GenericAsset, name="cariflex site")}))
"""


@dataclass
class FlexMeasuresServer:
    """A running server: where it answers, whom to log in as, the test site's asset."""

    url: str
    email: str
    password: str
    asset_id: int
    account_id: int
    workdir: Path

    def config(self, **kwargs):
        from agents.scheduling.fm_server import ServerConfig

        return ServerConfig(url=self.url, email=self.email, password=self.password, **kwargs)

    def log_tails(self, lines: int = 40) -> str:
        return _tails(self.workdir, lines)


def _tails(workdir: Path, lines: int = 40) -> str:
    out = []
    for log in sorted(workdir.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()
        out.append(f"----- {log} (last {lines} lines) -----\n" + "\n".join(text[-lines:]))
    return "\n".join(out)


def check_services() -> None:
    """Raise RuntimeError naming the service if PostgreSQL or Redis is not reachable."""
    import psycopg
    import redis

    try:
        psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                        connect_timeout=5).close()
    except psycopg.Error as exc:
        raise RuntimeError(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as user "
                           f"{PG_USER!r} ({exc}); start it (bash .ci/run does)") from None
    try:
        redis.Redis(REDIS_HOST, REDIS_PORT, socket_timeout=5).ping()
    except redis.RedisError as exc:
        raise RuntimeError(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc}); "
                           "start it (bash .ci/run does)") from None


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(sql)


def _free_redis_db():
    """A Redis database number other than 0 holding no keys, as a client on it."""
    import redis

    for number in range(15, 0, -1):
        conn = redis.Redis(REDIS_HOST, REDIS_PORT, db=number)
        if conn.dbsize() == 0:
            return number, conn
    raise RuntimeError(f"no empty Redis database among 1..15 at {REDIS_HOST}:{REDIS_PORT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it forked."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass


@contextmanager
def running_flexmeasures(workdir: Path):
    """Yield a :class:`FlexMeasuresServer` on a fresh database; clean everything up."""
    check_services()
    workdir.mkdir(parents=True, exist_ok=True)
    db_name = f"cariflex_fm_test_{secrets.token_hex(4)}"
    redis_db, redis_conn = _free_redis_db()
    port = _free_port()
    (workdir / ".flexmeasures.cfg").write_text(
        CONFIG_FILE.format(redis_port=REDIS_PORT, redis_db=redis_db))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLEXMEASURES_", "FLASK_", "SQLALCHEMY_"))}
    env.update(
        HOME=str(workdir),  # FlexMeasures reads ~/.flexmeasures.cfg
        FLEXMEASURES_ENV="production",
        SQLALCHEMY_DATABASE_URI=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}",
        SECRET_KEY=secrets.token_hex(24),
        FLEXMEASURES_REDIS_URL=REDIS_HOST,
        LOGGING_LEVEL="INFO",
        CARIFLEX_FM_EMAIL=EMAIL, CARIFLEX_FM_PASSWORD=PASSWORD,
    )
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        with open(workdir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(args, cwd=workdir, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        return proc

    _admin(f'CREATE DATABASE "{db_name}"')
    try:
        try:
            setup = start("setup", sys.executable, "-c", SETUP_SCRIPT)
            if setup.wait(START_TIMEOUT_S) != 0:
                raise RuntimeError(f"the set-up commands failed (exit {setup.returncode})")
            log = (workdir / "setup.log").read_text()
            ids = json.loads(log.split("IDS ")[-1].splitlines()[0])
            fm = _flexmeasures_command()
            web = start("web", fm, "run", "--host", "127.0.0.1", "--port", str(port),
                        "--no-reload", "--no-debugger")
            worker = start("worker", fm, "jobs", "run-worker", "--queue", "scheduling",
                           "--name", f"cariflex-test-{db_name}")
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, web, worker, redis_conn)
        except Exception as exc:
            raise RuntimeError(f"FlexMeasures did not start: {exc}\n{_tails(workdir)}") from exc
        yield FlexMeasuresServer(url=url, email=EMAIL, password=PASSWORD,
                                 asset_id=ids["asset"], account_id=ids["account"],
                                 workdir=workdir)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        _admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        redis_conn.flushdb()


def _flexmeasures_command() -> str:
    """FlexMeasures' console script, beside this Python's executable or on PATH."""
    import shutil

    beside = Path(sys.executable).with_name("flexmeasures")
    found = str(beside) if beside.exists() else shutil.which("flexmeasures")
    if not found:
        raise RuntimeError("the `flexmeasures` command is not installed with this Python")
    return found


def _wait_until_up(url, web, worker, redis_conn) -> None:
    """Until the API answers and the worker has registered in Redis (bounded)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    api_up = worker_up = False
    while not (api_up and worker_up):
        for name, proc in (("web process", web), ("scheduling worker", worker)):
            if proc.poll() is not None:
                raise RuntimeError(f"FlexMeasures {name} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"FlexMeasures not up after {START_TIMEOUT_S:.0f} s "
                               f"(API answering: {api_up}, worker registered: {worker_up})")
        if not api_up:
            try:
                with urllib.request.urlopen(f"{url}/api/", timeout=2) as response:
                    api_up = response.status == 200
            except OSError:
                pass
        worker_up = worker_up or redis_conn.scard("rq:workers:scheduling") > 0
        time.sleep(0.3)
