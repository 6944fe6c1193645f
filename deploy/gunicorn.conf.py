"""gunicorn for fiscal: `.venv/bin/gunicorn -c deploy/gunicorn.conf.py fiscal_app.wsgi`.

Read from the environment and from the project's `.env` (as fiscal_app/settings.py does), so one file
serves every machine. Meant to sit behind an HTTPS reverse proxy on the same host (README.md,
"Implantação em produção"); deploy/fiscal-web.service runs it under systemd.
"""

import multiprocessing
from pathlib import Path

import environ

RAIZ = Path(__file__).resolve().parent.parent
environ.Env.read_env(RAIZ / ".env", overwrite=False)
env = environ.Env()

chdir = str(RAIZ)
wsgi_app = "fiscal_app.wsgi"
# Loopback by default: only the reverse proxy on this machine talks to gunicorn. Comma-separated.
bind = env.list("GUNICORN_BIND", default=["127.0.0.1:8000"])
# gthread workers: a long request (a big ZIP upload, a streamed export) keeps one thread busy while the
# worker still answers the arbiter, so `timeout` only kills a worker that is really stuck.
workers = env.int("GUNICORN_WORKERS", default=multiprocessing.cpu_count() * 2)
threads = env.int("GUNICORN_THREADS", default=4)
worker_class = "gthread"
timeout = env.int("GUNICORN_TIMEOUT", default=120)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (jittered, so they do not all restart at once): bounds slow leaks.
max_requests = 2000
max_requests_jitter = 200
# The proxies whose X-Forwarded-Proto is believed (request.is_secure(), the admin's CSRF check).
# Independent of FISCAL_PROXIES_CONFIAVEIS, which decides the client IP for the rate limit.
forwarded_allow_ips = env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1,::1")
# Access log to stdout, errors to stderr: systemd's journal (or the container runtime) keeps both.
accesslog = "-"
errorlog = "-"
loglevel = env.str("LOG_LEVEL", default="INFO").lower()
proc_name = "fiscal"
# gunicorn's runtime control socket ($HOME/.gunicorn/gunicorn.ctl) is not used here; without it two
# instances on one machine (blue/green, tests) never fight over the same socket.
control_socket_disable = True


def post_worker_init(worker):
    """A request thread may send a webhook itself (a test delivery, a re-send): one connection each per
    receiver, beside the immediate-delivery threads, so none is dropped as overflow."""
    from core.webhooks.rede import reservar_conexoes

    reservar_conexoes("gunicorn", threads)


def worker_exit(server, worker):
    """A worker leaving (recycled after max_requests, SIGTERM, a deploy): the webhooks its requests
    queued go out or back to the queue, within WEBHOOK_SHUTDOWN_SECONDS (under graceful_timeout)."""
    from core.webhooks.imediata import encerrar_entrega_imediata

    encerrar_entrega_imediata()
