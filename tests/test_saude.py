"""GET /saude/: the load balancer's health check (core/saude.py)."""

import json
import logging
import socket
import time
from pathlib import Path

import environ
import pytest
from django.db import OperationalError

import core.saude
from core.models import APIRequestLog
from tests.webhooks.receptor import porta_livre

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def cache_fora_do_ar(settings):
    """The default cache is a Redis nobody listens on."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": f"redis://127.0.0.1:{porta_livre()}/0"},
    }  # fmt: skip


def test_it_answers_ok_when_database_and_cache_work(client):
    resposta = client.get("/saude/")

    assert resposta.status_code == 200
    assert resposta.json() == {"status": "ok", "banco": "ok", "cache": "ok"}
    assert "no-cache" in resposta["Cache-Control"]


def test_the_readme_shows_the_real_answer(client):
    real = client.get("/saude/").json()

    assert f"```json\n{json.dumps(real)}\n```" in README.read_text(encoding="utf-8")


def test_an_unreachable_cache_gives_503_naming_the_cache(client, cache_fora_do_ar, caplog):
    with caplog.at_level(logging.WARNING, logger="core.saude"):
        resposta = client.get("/saude/")

    assert resposta.status_code == 503
    assert resposta.json() == {"status": "erro", "banco": "ok", "cache": "erro"}
    assert "cache" in caplog.text and "ConnectionError" in caplog.text


def test_a_cache_that_stops_answering_gives_503_within_its_socket_timeout(client, settings):
    """The timeouts README recommends in CACHE_URL: a Redis that accepts and never answers cannot hang the probe."""
    with socket.socket() as mudo:
        mudo.bind(("127.0.0.1", 0))
        mudo.listen()
        url = f"redis://127.0.0.1:{mudo.getsockname()[1]}/0?socket_connect_timeout=0.5&socket_timeout=0.5"
        settings.CACHES = {**settings.CACHES, "default": environ.Env.cache_url_config(url)}
        inicio = time.monotonic()
        resposta = client.get("/saude/")

    assert resposta.status_code == 503 and resposta.json()["cache"] == "erro"
    assert time.monotonic() - inicio < 5


def test_a_database_failure_gives_503_naming_the_database_and_no_details(client, monkeypatch, caplog):
    def banco_fora_do_ar():
        raise OperationalError('connection to server at "10.0.0.9", port 5432 failed')

    monkeypatch.setattr(core.saude, "verificar_banco", banco_fora_do_ar)

    with caplog.at_level(logging.WARNING, logger="core.saude"):
        resposta = client.get("/saude/")

    assert resposta.status_code == 503
    assert resposta.json() == {"status": "erro", "banco": "erro", "cache": "ok"}
    assert b"10.0.0.9" not in resposta.content  # the reason goes to the log only: the endpoint is public
    assert "10.0.0.9" in caplog.text


def test_it_needs_no_token_and_is_neither_rate_limited_nor_logged(client, settings):
    settings.RATE_LIMIT_PER_MINUTE = 1
    settings.APIREQUESTLOG_ATIVO = True
    settings.APIREQUESTLOG_LOTE = 1  # an /api/ request would be written at once

    respostas = [client.get("/saude/") for _ in range(3)]

    assert [r.status_code for r in respostas] == [200, 200, 200]
    assert not any(r.has_header("X-RateLimit-Limit") for r in respostas)
    assert APIRequestLog.objects.count() == 0


def test_head_works_and_writes_are_refused(client):
    assert client.head("/saude/").status_code == 200
    assert client.post("/saude/").status_code == 405
