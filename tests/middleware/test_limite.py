"""RateLimitMiddleware: per-user (or per-IP) counts per clock minute, headers on every /api/ response."""

import logging
import re
import secrets

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.limite.contadores import conta_no_cache, limpar_janelas_encerradas
from core.models import ContadorDeRequisicoes
from tests.webhooks.receptor import esperar, porta_livre

from .conftest import URL

pytestmark = pytest.mark.django_db


def cabecalhos_de_limite(resposta) -> tuple[str, str, str]:
    return resposta["X-RateLimit-Limit"], resposta["X-RateLimit-Remaining"], resposta["X-RateLimit-Reset"]


def test_it_sends_the_limit_headers_on_success_on_401_and_on_404(api, relogio):
    fim = str(relogio.fim_da_janela)

    sucesso = api.get(URL)
    nao_encontrado = api.get("/api/nao-existe/")
    anonimo = APIClient().get(URL)

    assert sucesso.status_code == 200
    assert cabecalhos_de_limite(sucesso) == ("100", "99", fim)
    assert nao_encontrado.status_code == 404
    assert cabecalhos_de_limite(nao_encontrado) == ("100", "98", fim)  # same user, same count
    assert anonimo.status_code == 401
    assert cabecalhos_de_limite(anonimo) == ("100", "99", fim)  # anonymous: the IP's own count
    for resposta in (sucesso, nao_encontrado, anonimo):
        assert re.fullmatch(r"\d+\.\dms", resposta["X-Response-Time"])


def test_the_101st_request_in_a_minute_gets_a_429_with_retry_after(api, relogio):
    restantes = [api.get(URL)["X-RateLimit-Remaining"] for _ in range(100)]
    assert restantes == [str(n) for n in range(99, -1, -1)]

    resposta = api.get(URL)

    assert resposta.status_code == 429
    assert resposta["Content-Type"] == "application/json"
    assert resposta.json() == {
        "erro": "Muitas requisições: o limite é de 100 por minuto.",
        "detalhes": {"limite_por_minuto": 100, "tentar_novamente_em_segundos": 50},
    }
    assert resposta["Retry-After"] == "50"  # the clock is 10.25 s into the minute
    assert cabecalhos_de_limite(resposta) == ("100", "0", str(relogio.fim_da_janela))
    assert api.get(URL).status_code == 429

    # the next minute starts a new count
    relogio.avancar(50)
    resposta = api.get(URL)
    assert resposta.status_code == 200
    assert cabecalhos_de_limite(resposta) == ("100", "99", str(relogio.fim_da_janela))


def test_retry_after_is_at_least_one_second(api, relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 1
    relogio.avancar(49.6)  # 0.15 s before the minute ends
    api.get(URL)

    assert api.get(URL)["Retry-After"] == "1"


def test_an_organization_limit_overrides_the_default(api, api_outra, org, relogio):
    org.limite_requisicoes_por_minuto = 5
    org.save(update_fields=["limite_requisicoes_por_minuto"])

    assert [api.get(URL).status_code for _ in range(6)] == [200] * 5 + [429]
    assert cabecalhos_de_limite(api.get(URL))[:2] == ("5", "0")
    assert cabecalhos_de_limite(api_outra.get(URL))[:2] == ("100", "99")


def test_a_new_organization_limit_applies_once_the_process_forgets_the_token(api, org, relogio, settings):
    settings.RATE_LIMIT_CACHE_SEGUNDOS = 0
    assert api.get(URL)["X-RateLimit-Limit"] == "100"

    org.limite_requisicoes_por_minuto = 2
    org.save(update_fields=["limite_requisicoes_por_minuto"])

    assert [api.get(URL).status_code for _ in range(2)] == [200, 429]


def test_anonymous_requests_are_counted_per_ip(relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 3
    de_um_ip, de_outro_ip = Client(REMOTE_ADDR="198.51.100.1"), Client(REMOTE_ADDR="198.51.100.2")

    assert [de_um_ip.get(URL).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert de_outro_ip.get(URL).status_code == 401


def test_an_ipv6_client_is_counted_per_64_prefix(relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 2
    um, mesmo_prefixo, outro_prefixo = "2001:db8:1:2::10", "2001:db8:1:2:ffff::99", "2001:db8:1:3::10"

    assert Client(REMOTE_ADDR=um).get(URL).status_code == 401
    assert Client(REMOTE_ADDR=mesmo_prefixo).get(URL).status_code == 401
    assert Client(REMOTE_ADDR=mesmo_prefixo).get(URL).status_code == 429
    assert Client(REMOTE_ADDR=outro_prefixo).get(URL).status_code == 401


def test_made_up_tokens_count_against_their_ip(relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 3
    cliente = Client(REMOTE_ADDR="198.51.100.3")

    estados = [cliente.get(URL, HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}").status_code for _ in range(4)]

    assert estados == [401, 401, 401, 429]


def test_a_user_has_one_count_for_token_and_session(api, nova_org, relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 3
    sessao = Client()
    sessao.force_login(nova_org.usuario)

    assert [api.get(URL).status_code, sessao.get(URL).status_code, api.get(URL).status_code] == [200, 200, 200]
    assert sessao.get(URL).status_code == 429


def test_the_limiter_adds_only_its_count_and_a_refused_client_costs_no_more(api, relogio, settings,
                                                                            django_assert_num_queries):  # fmt: skip
    settings.RATE_LIMIT_PER_MINUTE = 1
    settings.APIREQUESTLOG_ATIVO = False
    # the count: one UPSERT in the database unless the cache is shared (Redis), then none
    contagem = 0 if conta_no_cache(caches[settings.RATE_LIMIT_CACHE]) else 1
    with django_assert_num_queries(1 + contagem):  # the token with its user and organization, shared with DRF
        assert api.get(URL).status_code == 200
    with django_assert_num_queries(contagem):
        assert api.get(URL).status_code == 429


def test_paths_outside_the_api_are_untouched(client, relogio, settings):
    settings.RATE_LIMIT_PER_MINUTE = 1

    respostas = [client.get("/admin/login/") for _ in range(3)]

    assert [r.status_code for r in respostas] == [200, 200, 200]
    assert not any(r.has_header(h) for r in respostas for h in ("X-RateLimit-Limit", "X-Response-Time"))


def test_when_the_cache_is_down_requests_pass_and_one_warning_is_logged(api, settings, caplog):
    # given: the counters live in a Redis nobody listens on
    settings.CACHES = {
        **settings.CACHES,
        "fora_do_ar": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                       "LOCATION": f"redis://127.0.0.1:{porta_livre()}/0"},
    }  # fmt: skip
    settings.RATE_LIMIT_CACHE = "fora_do_ar"
    settings.RATE_LIMIT_PER_MINUTE = 1

    # when
    with caplog.at_level(logging.WARNING, logger="core.middleware"):
        respostas = [api.get(URL) for _ in range(3)]

    # then: served (fail open), no counter to report, and one warning, not one per request
    assert [r.status_code for r in respostas] == [200, 200, 200]
    assert not any(r.has_header("X-RateLimit-Remaining") for r in respostas)
    avisos = [r for r in caplog.records if r.name == "core.middleware"]
    assert len(avisos) == 1
    assert avisos[0].levelno == logging.WARNING
    assert "rate limit desligado" in avisos[0].getMessage()
    assert "ConnectionError" in avisos[0].getMessage()


# --- Ended windows in the database ------------------------------------------------------------------


def janela(fim: int, quem: str = "ip:203.0.113.9") -> None:
    ContadorDeRequisicoes.objects.create(chave=f"rl:{fim}:{quem}", fim_da_janela=fim, contagem=1)


def janelas() -> list[int]:
    return sorted(ContadorDeRequisicoes.objects.values_list("fim_da_janela", flat=True))


@pytest.fixture
def no_banco(settings):
    if conta_no_cache(caches[settings.RATE_LIMIT_CACHE]):
        pytest.skip("com Redis a contagem não vai ao banco")


def test_the_first_request_of_a_window_runs_one_upsert_and_no_delete(api, relogio, settings, no_banco):
    settings.APIREQUESTLOG_ATIVO = False
    janela(relogio.fim_da_janela - 600)  # an ended window, long due for deletion
    relogio.avancar(60)  # the next minute: this request opens its window

    with CaptureQueriesContext(connection) as consultas:
        assert api.get(URL).status_code == 200

    comandos = [consulta["sql"].split()[0].upper() for consulta in consultas]
    assert "DELETE" not in comandos
    assert sum("ON CONFLICT" in consulta["sql"] for consulta in consultas) == 1
    assert janelas()[0] == relogio.fim_da_janela - 660  # still there: cleaning is not the request's job


def test_the_log_writer_deletes_the_ended_windows_once_a_window(relogio, no_banco):
    atual = relogio.fim_da_janela
    for fim in (atual - 600, atual - 60, atual):
        janela(fim)

    assert limpar_janelas_encerradas() == 1
    assert janelas() == [atual - 60, atual]  # the previous window stays: a lagging clock may still count in it
    janela(atual - 600, quem="u:7")
    assert limpar_janelas_encerradas() == 0  # once a window
    relogio.avancar(60)
    assert limpar_janelas_encerradas() == 2 and janelas() == [atual]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_log_writer_thread_deletes_the_ended_windows(api, relogio, settings, no_banco):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: a thread de gravação escreve por outra conexão (roda no .ci/run)")
    settings.APIREQUESTLOG_LOTE = 100
    settings.APIREQUESTLOG_INTERVALO_SEGUNDOS = 0.05
    janela(relogio.fim_da_janela - 600)

    api.get(URL)  # its log row starts the writer thread

    assert esperar(lambda: janelas() == [relogio.fim_da_janela])
