"""Admin login throttling (core/login.py): real posts to /admin/login/ with Django's test client."""

import logging
import random

import pytest
from django.core.cache import caches
from django.test import Client

import core.login
from core.limite.contadores import janelas_encerradas
from core.models import ContadorDeRequisicoes
from tests.webhooks.receptor import porta_livre

URL = "/admin/login/"
JANELA = 900
SENHA = "senha-forte-123"  # nova_org's owner (tests/conftest.py)
EMAIL = "dona@alfa.com.br"


class Relogio:
    """Stands in for `core.login.relogio`: a fixed instant that only moves when told to."""

    def __init__(self, agora: float):
        self.agora = agora

    def __call__(self) -> float:
        return self.agora

    def avancar(self, segundos: float) -> None:
        self.agora += segundos


@pytest.fixture(autouse=True)
def _config(settings):
    settings.ADMIN_LOGIN_FALHAS_POR_CONTA = 5
    settings.ADMIN_LOGIN_FALHAS_POR_IP = 20
    settings.ADMIN_LOGIN_JANELA_SEGUNDOS = JANELA
    settings.RATE_LIMIT_CACHE = "default"
    settings.FISCAL_PROXIES_CONFIAVEIS = []
    caches["default"].clear()


@pytest.fixture
def relogio(monkeypatch):
    """10.25 s into a window no other test (nor an earlier run, with Redis) has used."""
    relogio = Relogio(random.randrange(10**6, 10**7) * JANELA + 10.25)
    monkeypatch.setattr(core.login, "relogio", relogio)
    return relogio


def entrar(usuario, senha, ip="203.0.113.10", **extra):
    return Client().post(URL, {"username": usuario, "password": senha}, REMOTE_ADDR=ip, **extra)


def entrou(resposta) -> bool:
    return resposta.status_code == 302 and "_auth_user_id" in resposta.wsgi_request.session


def bloqueado(resposta) -> bool:
    return resposta.status_code == 200 and "Muitas tentativas de entrada" in resposta.content.decode()


def test_it_locks_an_account_after_n_failures_even_from_different_ips(nova_org, relogio):
    # given: five wrong passwords, each from another address
    for n in range(5):
        assert not bloqueado(entrar(EMAIL, "errada", ip=f"203.0.113.{n}"))

    # when: the right password, from yet another address
    resposta = entrar(EMAIL, SENHA, ip="198.51.100.7")

    # then: refused with the lockout message; other accounts are unaffected
    assert bloqueado(resposta)
    assert not entrou(resposta)
    assert "15 minutos" in resposta.content.decode()


def test_it_locks_an_ip_across_accounts(nova_org, settings, relogio):
    # given: an address that tried 20 wrong passwords spread over 20 accounts
    for n in range(20):
        assert not bloqueado(entrar(f"alguem{n}@x.com", "errada", ip="203.0.113.66"))

    # then: even the right password of an untouched account is refused from that address...
    assert bloqueado(entrar(EMAIL, SENHA, ip="203.0.113.66"))
    # ...and accepted from another one
    assert entrou(entrar(EMAIL, SENHA, ip="198.51.100.7"))


def test_it_counts_the_client_ip_behind_a_trusted_proxy(nova_org, settings, relogio):
    # given: a trusted load balancer forwards failures of one client over many accounts
    settings.FISCAL_PROXIES_CONFIAVEIS = ["10.0.0.1"]
    for n in range(20):
        entrar(f"alguem{n}@x.com", "errada", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")

    # then: that client is locked, another client behind the same proxy is not
    assert bloqueado(entrar(EMAIL, SENHA, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66"))
    assert entrou(entrar(EMAIL, SENHA, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"))


def test_it_unlocks_when_the_window_passes(nova_org, relogio):
    # given: a locked account
    for _ in range(5):
        entrar(EMAIL, "errada")
    assert bloqueado(entrar(EMAIL, SENHA))

    # when: the window passes
    relogio.avancar(JANELA)

    # then
    assert entrou(entrar(EMAIL, SENHA))


def test_it_resets_the_account_counter_on_success(nova_org, relogio):
    # given: four failures, then a success
    for _ in range(4):
        entrar(EMAIL, "errada")
    assert entrou(entrar(EMAIL, SENHA))

    # when: five more failures in the same window
    respostas = [entrar(EMAIL, "errada") for _ in range(5)]

    # then: none was refused by the lockout (the count started again at the success), the next one is
    assert not any(bloqueado(r) for r in respostas)
    assert bloqueado(entrar(EMAIL, SENHA))


def test_it_counts_the_username_case_insensitively(nova_org, relogio):
    for n in range(5):
        entrar(EMAIL.upper() if n % 2 else f" {EMAIL} ", "errada")

    assert bloqueado(entrar(EMAIL, SENHA))


def test_when_the_cache_is_down_logins_pass_and_a_warning_is_logged(nova_org, settings, relogio, caplog):
    # given: the counters live in a Redis nobody listens on
    settings.CACHES = {
        **settings.CACHES,
        "fora_do_ar": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                       "LOCATION": f"redis://127.0.0.1:{porta_livre()}/0"},
    }  # fmt: skip
    settings.RATE_LIMIT_CACHE = "fora_do_ar"
    core.login.esquecer_avisos()

    # when
    with caplog.at_level(logging.WARNING, logger="core.login"):
        for _ in range(6):
            entrar(EMAIL, "errada")
        resposta = entrar(EMAIL, SENHA)

    # then: no lockout (fail open), and a warning without the password or the e-mail
    assert entrou(resposta)
    avisos = [r for r in caplog.records if r.name == "core.login"]
    assert len(avisos) == 1
    assert "ConnectionError" in avisos[0].getMessage()
    assert EMAIL not in avisos[0].getMessage() and SENHA not in avisos[0].getMessage()


# --- across processes ---------------------------------------------------------------------------------

DOIS_TRABALHADORES = {  # two local-memory caches: what two gunicorn workers each have with the default
    "trabalhador_1": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "trabalhador-1"},
    "trabalhador_2": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "trabalhador-2"},
}


def no_trabalhador(settings, n: int) -> None:
    settings.RATE_LIMIT_CACHE = f"trabalhador_{n}"


def test_two_workers_with_their_own_local_memory_cache_share_one_count(nova_org, settings, relogio):
    # given: two workers, each with its own local-memory cache; five failures spread over them (3 + 2)
    settings.CACHES = {**settings.CACHES, **DOIS_TRABALHADORES}
    for n in range(5):
        no_trabalhador(settings, 1 + n % 2)
        assert not bloqueado(entrar(EMAIL, "errada"))

    # when: the right password, on either worker
    respostas = []
    for n in (1, 2):
        no_trabalhador(settings, n)
        respostas.append(entrar(EMAIL, SENHA))

    # then: both refuse (each worker counting alone would have seen 3 and 2 failures and let it in)
    assert all(bloqueado(r) and not entrou(r) for r in respostas)
    assert caches["trabalhador_1"].get(core.login._chave("ip:203.0.113.10")) is None  # counted in the database


def test_the_database_counters_go_with_the_ended_windows(nova_org, settings, relogio):
    # given: a failure counted in the database (the default local-memory cache)
    settings.CACHES = {**settings.CACHES, **DOIS_TRABALHADORES}
    no_trabalhador(settings, 1)
    entrar(EMAIL, "errada")
    fim = core.login._fim_da_janela()
    linhas = ContadorDeRequisicoes.objects.filter(chave__startswith=f"login:{fim}:")
    assert sorted(linhas.values_list("contagem", "fim_da_janela")) == [(1, fim), (1, fim)]  # account, IP

    # then: kept while the login window lasts (longer than the API's minute), deleted once it is over
    assert not janelas_encerradas(fim - 1).filter(chave__startswith="login:").exists()
    assert janelas_encerradas(fim + 61).filter(chave__startswith="login:").count() == 2


def test_a_success_deletes_the_account_counter_in_the_database(nova_org, settings, relogio):
    settings.CACHES = {**settings.CACHES, **DOIS_TRABALHADORES}
    no_trabalhador(settings, 1)
    entrar(EMAIL, "errada")

    no_trabalhador(settings, 2)
    assert entrou(entrar(EMAIL, SENHA))

    # the account's counter is gone, the IP's stays (one good password must not reopen a guessing address)
    restantes = ContadorDeRequisicoes.objects.filter(chave__startswith=f"login:{core.login._fim_da_janela()}:")
    assert list(restantes.values_list("chave", flat=True)) == [core.login._chave("ip:203.0.113.10")]
