"""deploy/ is what a Linux host runs: gunicorn started from deploy/gunicorn.conf.py serves the
desk with its access log in the desk's format (each line with the request's id, text or JSON,
never a reset link's token), and stops cleanly on SIGTERM; the nginx site and the systemd
units agree with the desk's settings."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import tomllib
import urllib.request
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
DEPLOY = CHECKOUT / "deploy"
BIN = Path(sys.executable).parent
TOKEN = "cd" * 32


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAT_", "GUNICORN_"))}
    env.update(
        SWAT_INSTANCE_PATH=str(tmp_path / "instance"),
        SWAT_SECRET_KEY="k" * 48,
        GUNICORN_BIND="127.0.0.1:0",
        GUNICORN_WORKERS="2",
        **extra,
    )
    return env


class Served:
    """gunicorn from deploy/gunicorn.conf.py, its stderr read line by line as it comes."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py")],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.port: int | None = None
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self._listening.wait(60), "gunicorn did not start:\n" + "\n".join(self.lines)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            if (found := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)) and self.port is None:
                self.port = int(found.group(1))
                self._listening.set()

    def get(self, path: str) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


@pytest.fixture
def desk(tmp_path):
    """A desk's database, set up as the README says (swat db upgrade, swat reference load)."""
    env = _env(tmp_path)
    for command in (["db", "upgrade"], ["reference", "load"]):
        subprocess.run([str(BIN / "swat"), *command], cwd=tmp_path, env=env, check=True, capture_output=True)
    return tmp_path


def _wait_for(served: Served, needle: str) -> list[str]:
    for _ in range(100):
        found = [line for line in served.lines if needle in line]
        if found:
            return found
        threading.Event().wait(0.1)
    raise AssertionError(f"no line with {needle!r}:\n" + "\n".join(served.lines))


def test_gunicorn_from_the_deploy_folder_logs_each_request_with_its_id_and_stops_cleanly(desk):
    served = Served(_env(desk), desk)
    try:
        status, headers = served.get("/readyz")
        assert status == 200
        rid = headers["X-Request-Id"]
        (line,) = _wait_for(served, f"id={rid}")
        assert '"GET /readyz HTTP/1.1" 200' in line and "[gunicorn.access]" in line and f"[{rid}]" in line
        status, _headers = served.get(f"/password/reset/{TOKEN}")
        assert status == 404
        _wait_for(served, "/password/reset/…")
    finally:
        code = served.stop()
    assert code == 0
    assert not [line for line in served.lines if TOKEN in line]
    assert any("Shutting down" in line or "Handling signal: term" in line for line in served.lines)
    # the workers' start says nothing but that they booted (no library's set-up chatter)
    assert not [line for line in served.lines if "alembic" in line], served.lines


def test_json_lines_for_a_log_collector(desk):
    served = Served(_env(desk, SWAT_LOG_FORMAT="json"), desk)
    try:
        status, headers = served.get("/healthz")
        assert status == 200
        rid = headers["X-Request-Id"]
        (line,) = _wait_for(served, rid)
    finally:
        assert served.stop() == 0
    entry = json.loads(line)
    assert entry["logger"] == "gunicorn.access" and entry["request_id"] == rid
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/healthz", 200)
    # gunicorn's own lines are JSON too
    assert all(json.loads(other)["level"] for other in served.lines if other.startswith("{"))
    assert not [other for other in served.lines if other.strip() and not other.startswith("{")]


def test_the_nginx_site_and_the_units_agree_with_the_settings():
    defaults = tomllib.loads((CHECKOUT / "config" / "default.toml").read_text(encoding="utf-8"))
    site = (DEPLOY / "nginx-swat.conf").read_text(encoding="utf-8")
    limit = re.search(r"client_max_body_size\s+(\d+)m;", site)
    assert limit and int(limit.group(1)) * 1024 * 1024 == defaults["max_request_bytes"]
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id", "Host"):
        assert f"proxy_set_header {header}" in site, header
    assert "Strict-Transport-Security" not in site  # the desk sends HSTS itself in production
    web = (DEPLOY / "swat-web.service").read_text(encoding="utf-8")
    jobs = (DEPLOY / "swat-jobs.service").read_text(encoding="utf-8")
    assert "gunicorn -c /etc/swat-desk/gunicorn.conf.py" in web and "ExecReload=/bin/kill -HUP $MAINPID" in web
    assert "ExecStart=/opt/swat-desk/bin/swat scheduler" in jobs
    for unit in (web, jobs):
        assert "EnvironmentFile=/etc/swat-desk/swat-desk.env" in unit and "Restart=on-failure" in unit
        assert "KillSignal=SIGTERM" in unit and "TimeoutStopSec=" in unit
    example = (DEPLOY / "swat-desk.env.example").read_text(encoding="utf-8")
    names = re.findall(r"^#?\s*(SWAT_[A-Z_]+)=", example, re.M)
    from swat.settings import load_settings

    known = {f"SWAT_{k.upper()}" for k in load_settings(environ={"SWAT_SECRET_KEY": "k" * 40})}
    assert names and set(names) - {"SWAT_CONFIG"} <= known, set(names) - known


def _scrape(served: Served) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return response.read().decode()


def test_metrics_sum_the_requests_of_every_worker(desk, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left from an earlier run")  # removed at the start
    served = Served(_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(folder)), desk)
    try:
        # requests 8 at a time until both sync workers have answered some (each worker's
        # counts are in its own file), counting how many were sent
        sent = []

        def pids() -> set[str]:
            return {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}

        def keep_asking() -> None:
            while len(pids()) < 2 and len(sent) < 4000:
                assert served.get("/healthz")[0] == 200
                sent.append(1)

        threads = [threading.Thread(target=keep_asking) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        text = _scrape(served)
        workers = pids()
    finally:
        assert served.stop() == 0
    assert "1" not in workers and len(workers) == 2, workers
    line = f'swat_http_requests_total{{endpoint="health.healthz",method="GET",status="200"}} {float(len(sent))}'
    assert line in text.splitlines(), text
    assert 'swat_tickets_open{status="new"} 0.0' in text and "swat_database_up 1.0" in text
