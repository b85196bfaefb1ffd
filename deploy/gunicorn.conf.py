"""gunicorn's settings for the desk's web service.

    gunicorn -c deploy/gunicorn.conf.py

(the systemd unit deploy/swat-web.service runs exactly this). The desk's own settings come as
always from $SWAT_CONFIG and SWAT_* variables; the few below that are gunicorn's own can be
changed with GUNICORN_* variables (not SWAT_*: the desk refuses SWAT_ variables it does not
know). A reload (`systemctl reload swat-web`, SIGHUP) starts new workers with new code and
lets the old ones finish their requests.
"""

import glob
import multiprocessing
import os
import shutil
import sys
import tempfile

# /metrics across the workers: prometheus-client's multiprocess mode, in which each worker keeps
# its counts in files in this folder and a scrape of any worker sums them all. It must be set
# before the desk is imported. By default a private folder made here and removed at the end;
# set PROMETHEUS_MULTIPROC_DIR in the web unit only (an empty folder only this service writes,
# e.g. under RuntimeDirectory=), never in the environment file the scheduler and `swat` share.
# A reload (HUP) keeps the counts: the old workers' files stay until the next start. A binary
# upgrade (USR2) is not supported with the default folder: restart instead.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="swat-metrics-")
    os.environ["GUNICORN_SWAT_METRICS_DIR_MADE"] = "1"  # a reload reads this file again
METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

from swat import logs  # noqa: E402 (after the metrics folder is chosen)

wsgi_app = "swat.app:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each page is a few database round trips; twice the cores, plus one, keeps the
# cores busy while some wait for PostgreSQL.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# An upload of max_request_bytes (110 MB) over a slow line must fit in the timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Workers are not recycled after a number of requests: each new worker would leave its metrics
# files behind; a worker grew 7-8 % in an hour of mixed traffic after its first five minutes,
# more slowly as the hour went on (bench/OPERATIONS.md), and a reload starts fresh ones.
# The reverse proxy (deploy/nginx-swat.conf) on this host: only its X-Forwarded-* are believed.
# The desk's own proxy_count setting must say the same (1 for one proxy).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket (~/.gunicorn/gunicorn.ctl) is not used: systemctl and signals
# manage the service, and two instances under one user would take each other's socket.
control_socket_disable = True

# Logs: the access log and gunicorn's own lines in the desk's format (text, or JSON lines with
# SWAT_LOG_FORMAT=json), each access line with the request's id (the X-Request-Id answered).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
_format = os.environ.get("SWAT_LOG_FORMAT", "text")
_level = os.environ.get("SWAT_LOG_LEVEL", "INFO").upper()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {},
    "handlers": {"swat": {"()": logs.handler, "log_format": _format}},
    "loggers": {
        "gunicorn.error": {"level": _level, "handlers": ["swat"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["swat"], "propagate": False},
        **{name: {"level": "WARNING"} for name in logs.QUIET_AT_INFO},
    },
    "root": {"level": _level, "handlers": ["swat"]},
}


def on_starting(server):
    """A fresh start counts from zero: the files of an earlier run are removed."""
    os.makedirs(METRICS_DIR, exist_ok=True)
    for path in glob.glob(os.path.join(METRICS_DIR, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """A worker that ended: its live gauges go; its counts stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


# What the master imported of the desk (swat.logs, for its own lines) and prometheus_client
# (child_exit) must not reach a worker: a worker forked after a reload that follows an upgrade
# would run the old modules beside the new ones it imports itself, and fail to boot if the new
# code calls what the old lacks. Each worker imports them afresh from what is installed; the
# master's handlers keep the objects they hold, and a reload reads this file, and so the new
# swat.logs, again. (Not with --preload, which loads the whole desk here, to be shared.)
FRESH_IN_EACH_WORKER = ("swat", "prometheus_client")


def pre_fork(server, worker):
    if server.cfg.preload_app:
        return  # the app itself was loaded here (--preload): its workers share these modules
    for name in [n for n in sys.modules if n.split(".", 1)[0] in FRESH_IN_EACH_WORKER]:
        del sys.modules[name]


def on_exit(server):
    if os.environ.get("GUNICORN_SWAT_METRICS_DIR_MADE"):
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
