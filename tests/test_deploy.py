"""deploy/ is what a Linux host runs: gunicorn started from deploy/gunicorn.conf.py serves the
desk with its access log in the desk's format (each line with the request's id, text or JSON,
never a reset link's token), and stops cleanly on SIGTERM; the nginx site and the systemd
units agree with the desk's settings."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import tomllib
import urllib.request
from pathlib import Path

import pytest

from swat import resources

CHECKOUT = Path(__file__).resolve().parent.parent
DEPLOY = CHECKOUT / "deploy"
BIN = Path(sys.executable).parent
TOKEN = "cd" * 32


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAT_", "GUNICORN_"))}
    env.update(
        {
            "SWAT_INSTANCE_PATH": str(tmp_path / "instance"),
            "SWAT_SECRET_KEY": "k" * 48,
            "GUNICORN_BIND": "127.0.0.1:0",
            "GUNICORN_WORKERS": "2",
            **extra,
        }
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
    assert not [line for line in served.lines if "Control socket" in line]  # off: signals manage it


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


SITE_NAME = "swat.pref.osaka.lg.jp"


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback, all different (each held until all are chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _site_on_loopback(tmp_path: Path, web_port: int, http_port: int, https_port: int) -> Path:
    """deploy/nginx-swat.conf as an operator installs it, with only what this machine must
    change: loopback ports, the certificate's folder, the package's static folder, and the
    gunicorn port. A site that no longer has one of these lines fails here, loudly."""
    site = (DEPLOY / "nginx-swat.conf").read_text(encoding="utf-8")
    changes = {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/ssl/swat-desk/": f"{tmp_path}/ssl/",
        "/opt/swat-desk/lib/python3.11/site-packages/swat/static/": f"{resources.STATIC}/",
        "http://127.0.0.1:8000": f"http://127.0.0.1:{web_port}",
    }
    for old, new in changes.items():
        assert old in site, old
        site = site.replace(old, new)
    out = tmp_path / "site.conf"
    out.write_text(site, encoding="utf-8")
    return out


class Nginx:
    """Debian's nginx with its own configuration under tmp_path, including the desk's site."""

    def __init__(self, tmp_path: Path, site: Path, https_port: int):
        (tmp_path / "ssl").mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={SITE_NAME}",
             "-addext", f"subjectAltName=DNS:{SITE_NAME},IP:127.0.0.1",
             "-keyout", str(tmp_path / "ssl" / "privkey.pem"), "-out", str(tmp_path / "ssl" / "fullchain.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        temps = " ".join(
            f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.access_log = tmp_path / "access.log"
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            + f"events {{}}\nhttp {{\n include /etc/nginx/mime.types;\n access_log {self.access_log};\n {temps}\n"
            + f" include {site};\n}}\n",
            encoding="utf-8",
        )
        self.process = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.context = ssl.create_default_context(cafile=str(tmp_path / "ssl" / "fullchain.pem"))
        self.https_port = https_port
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                threading.Event().wait(0.1)
        self.stop()
        said = (tmp_path / "error.log").read_text(encoding="utf-8") if (tmp_path / "error.log").exists() else ""
        raise AssertionError(f"nginx did not start:\n{said}")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None):
        connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.context, timeout=30)
        try:
            connection.request(method, path, headers={"Host": SITE_NAME, **(headers or {})})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


def test_the_nginx_site_in_front_of_gunicorn(desk, tmp_path):
    """Debian's nginx runs deploy/nginx-swat.conf (nginx -t would have refused a directive its
    version does not know) in front of gunicorn: plain http goes to https, the desk believes
    nginx's request id, static files and the refusals never reach the desk, and a reset
    link's token is in no log."""
    served = Served(_env(desk, SWAT_ENV="production", SWAT_PROXY_COUNT="1", SWAT_BASE_URL=f"https://{SITE_NAME}"), desk)
    try:
        assert served.port is not None
        http_port, https_port = _free_ports(2)
        proxy_dir = tmp_path / "nginx"
        proxy_dir.mkdir()
        proxy = Nginx(proxy_dir, _site_on_loopback(proxy_dir, served.port, http_port, https_port), https_port)
        try:
            plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            plain.request("GET", "/login", headers={"Host": SITE_NAME})
            moved = plain.getresponse()
            assert (moved.status, moved.getheader("Location")) == (301, f"https://{SITE_NAME}/login")
            plain.close()

            status, headers, body = proxy.request("GET", "/login")
            assert status == 200 and "ログイン" in body.decode()
            rid = headers["X-Request-Id"]
            assert re.fullmatch(r"[0-9a-f]{32}", rid), rid  # nginx's $request_id, kept by the desk
            (line,) = _wait_for(served, f"id={rid}")
            assert '"GET /login HTTP/1.0" 200' in line
            assert headers["Strict-Transport-Security"].startswith("max-age=")
            assert "__Host-swat_session=" in headers["Set-Cookie"] and "Secure" in headers["Set-Cookie"]

            status, headers, body = proxy.request("GET", "/static/css/app.css")
            assert status == 200 and body == (resources.STATIC / "css" / "app.css").read_bytes()
            assert proxy.request("GET", "/metrics")[0] == 403  # only the monitoring network
            limit = tomllib.loads((CHECKOUT / "config" / "default.toml").read_text(encoding="utf-8"))[
                "max_request_bytes"
            ]
            too_big = {"Content-Length": str(limit + 1), "Content-Type": "application/octet-stream"}
            assert proxy.request("POST", "/consultations/new", too_big)[0] == 413  # told before any byte is sent
            assert proxy.request("GET", f"/password/reset/{TOKEN}")[0] == 404  # the desk's answer
            _wait_for(served, "/password/reset/…")
        finally:
            proxy.stop()
    finally:
        served.stop()
    reached = "\n".join(served.lines)
    assert "/static/" not in reached and "/metrics" not in reached and "/consultations/new" not in reached
    logged = proxy.access_log.read_text(encoding="utf-8")
    assert "/static/css/app.css" in logged and TOKEN not in logged


def test_a_reload_after_an_upgrade_runs_the_new_release(desk, tmp_path):
    """`systemctl reload swat-web` (SIGHUP) once the next release is installed: the new workers
    run the new code, even where it calls what the old lacked, and gunicorn's own lines take
    the new format; the master stays."""
    release = tmp_path / "release"
    for part in ("swat", "config", "templates", "migrations"):  # a checkout's layout (swat.resources)
        shutil.copytree(CHECKOUT / part, release / part, ignore=shutil.ignore_patterns("__pycache__"))
    served = Served(_env(desk, PYTHONPATH=str(release)), desk)
    try:
        assert served.get("/readyz")[0] == 200
        # the next release: a function of swat.logs (which the master imported) renamed, with
        # its caller, and a log format of its own to tell its lines apart
        for path, old, new in (
            ("logs.py", "def init_app(", "def init_app_v2("),
            ("app.py", "logs.init_app(app)", "logs.init_app_v2(app)"),
            ("logs.py", 'TEXT_FORMAT = "%(asctime)s', 'TEXT_FORMAT = "r2 %(asctime)s'),
        ):
            module = release / "swat" / path
            text = module.read_text(encoding="utf-8")
            assert old in text, (path, old)
            module.write_text(text.replace(old, new), encoding="utf-8")
        served.process.send_signal(signal.SIGHUP)
        _wait_for(served, "Handling signal: hup")
        for _ in range(300):
            status, headers = served.get("/readyz")
            if status == 200 and [
                line for line in served.lines if line.startswith("r2 ") and headers["X-Request-Id"] in line
            ]:
                break
            threading.Event().wait(0.1)
        else:
            raise AssertionError("no request answered by the new release:\n" + "\n".join(served.lines[-40:]))
        assert served.process.poll() is None
    finally:
        code = served.stop()
    assert code == 0
    assert not [line for line in served.lines if "Exception in worker process" in line or "Traceback" in line]
