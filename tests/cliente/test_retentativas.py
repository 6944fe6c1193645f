"""Retries, backoff and error mapping of the client, with the HTTP boundary replaced by `responses`.

The live server cannot be made to answer 502/503/504 on demand; everything else about these calls
(paths, bodies, headers) is covered against it in the other files.
"""

import time
from datetime import date
from email.utils import formatdate

import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from fiscal_api_client import (
    AutenticacaoError,
    ConexaoError,
    FiscalAPIError,
    LimiteExcedidoError,
    NaoEncontradoError,
)
from tests.cliente.conftest import ClienteSemEspera
from tests.webhooks.receptor import porta_livre

BASE = "https://fiscal.exemplo.com.br"
CHAVE = "35261111222333000181550010000012341000012345"


@pytest.fixture
def cliente():
    return ClienteSemEspera(BASE, "tok", max_retries=3, backoff=1)


@pytest.fixture
def http():
    with responses.RequestsMock() as mock:
        yield mock


def erro(status, mensagem="falhou", **cabecalhos):
    return responses.Response("GET", f"{BASE}/api/dashboard/", status=status, json={"erro": mensagem, "detalhes": {}},
                              headers=cabecalhos)  # fmt: skip


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_get_is_retried_on_transient_statuses_with_exponential_backoff(cliente, http, status):
    for _ in range(3):
        http.add(erro(status))
    http.get(f"{BASE}/api/dashboard/", json={"hoje": {}})

    assert cliente.dashboard() == {"hoje": {}}

    assert len(http.calls) == 4
    # Full jitter: each wait is somewhere below 1, 2 and 4 seconds.
    assert [0 <= e <= limite for e, limite in zip(cliente.esperas, [1, 2, 4], strict=True)] == [True] * 3


def test_the_token_and_user_agent_go_in_every_request(cliente, http):
    http.get(f"{BASE}/api/dashboard/", json={})

    cliente.dashboard()

    cabecalhos = http.calls[0].request.headers
    assert cabecalhos["Authorization"] == "Token tok"
    assert cabecalhos["User-Agent"].startswith("fiscal-api-client/")
    assert "tok" not in repr(cliente)


def test_a_429_waits_for_retry_after_in_seconds(cliente, http):
    http.add(erro(429, "Muitas requisições", **{"Retry-After": "7"}))
    http.get(f"{BASE}/api/dashboard/", json={})

    cliente.dashboard()

    assert cliente.esperas == [7]


def test_a_429_waits_for_retry_after_as_an_http_date(cliente, http):
    http.add(erro(429, **{"Retry-After": formatdate(time.time() + 20, usegmt=True)}))
    http.get(f"{BASE}/api/dashboard/", json={})

    cliente.dashboard()

    assert 17 <= cliente.esperas[0] <= 20


def test_a_429_that_outlasts_the_retries_raises_with_retry_after(cliente, http):
    for _ in range(4):
        http.add(erro(429, "Muitas requisições: o limite é de 100 por minuto.", **{"Retry-After": "3"}))

    with pytest.raises(LimiteExcedidoError) as excecao:
        cliente.dashboard()

    assert excecao.value.retry_after == 3 and excecao.value.status_code == 429
    assert excecao.value.mensagem == "Muitas requisições: o limite é de 100 por minuto."
    assert cliente.esperas == [3, 3, 3] and len(http.calls) == 4


def test_a_retry_after_above_the_cap_is_raised_without_waiting(cliente, http):
    http.add(erro(429, **{"Retry-After": "3600"}))

    with pytest.raises(LimiteExcedidoError) as excecao:
        cliente.dashboard()

    assert excecao.value.retry_after == 3600 and cliente.esperas == []


def test_max_retries_zero_never_retries(http):
    cliente = ClienteSemEspera(BASE, "tok", max_retries=0)
    http.add(erro(503))

    with pytest.raises(FiscalAPIError) as excecao:
        cliente.dashboard()

    assert excecao.value.status_code == 503 and len(http.calls) == 1


def test_a_post_is_not_repeated_when_the_server_may_have_acted(cliente, http):
    http.post(f"{BASE}/api/integracoes/disparar/", status=502, body="<html>Bad Gateway</html>")

    with pytest.raises(FiscalAPIError) as excecao:
        cliente.disparar_evento("teste", {})

    assert excecao.value.status_code == 502 and excecao.value.mensagem == "<html>Bad Gateway</html>"
    assert len(http.calls) == 1  # a second try could emit the event twice


def test_a_post_is_repeated_when_the_server_did_not_act(cliente, http):
    http.post(
        f"{BASE}/api/integracoes/disparar/",
        status=429,
        json={"erro": "Muitas", "detalhes": {}},
        headers={"Retry-After": "1"},
    )
    http.post(f"{BASE}/api/integracoes/disparar/", status=503, json={"erro": "Manutenção", "detalhes": {}})
    http.post(f"{BASE}/api/integracoes/disparar/", status=201, json={"id": "evt_1"})

    assert cliente.disparar_evento("teste", {"a": 1}) == {"id": "evt_1"}
    assert len(http.calls) == 3 and cliente.esperas[0] == 1


def test_an_import_is_retried_sending_the_whole_file_again(cliente, http, tmp_path):
    (tmp_path / "nota.xml").write_bytes(b"<nfeProc>conteudo</nfeProc>")
    http.post(f"{BASE}/api/importar/", status=504)
    http.post(f"{BASE}/api/importar/", json={"resumo": {"sucesso": 1}})

    assert cliente.importar_xml(tmp_path / "nota.xml") == {"resumo": {"sucesso": 1}}

    corpos = [c.request.body for c in http.calls]
    assert all(b"<nfeProc>conteudo</nfeProc>" in corpo and b'name="arquivos"' in corpo for corpo in corpos)


def test_a_sefaz_query_is_never_retried_on_429(cliente, http):
    http.post(f"{BASE}/api/certificados/3/consultar/", status=429, headers={"Retry-After": "5"},
              json={"erro": "aguarde", "detalhes": {"permitida_em": "2026-11-29T11:00:00-03:00"}})  # fmt: skip

    with pytest.raises(LimiteExcedidoError) as excecao:
        cliente.consultar_sefaz(3)

    assert excecao.value.detalhes["permitida_em"] and excecao.value.retry_after == 5
    assert len(http.calls) == 1


def test_connection_errors_are_retried_then_raised(cliente, http):
    for _ in range(4):
        http.get(f"{BASE}/api/dashboard/", body=requests.ConnectionError("conexão reiniciada"))

    with pytest.raises(ConexaoError) as excecao:
        cliente.dashboard()

    assert excecao.value.status_code is None and len(cliente.esperas) == 3
    assert isinstance(excecao.value.__cause__, requests.ConnectionError)


def test_a_post_is_retried_when_the_connection_was_refused():
    # A real refused connection (nothing listens on the port): the request never left, so it is safe.
    cliente = ClienteSemEspera(f"http://127.0.0.1:{porta_livre()}", "tok", max_retries=2)

    with pytest.raises(ConexaoError):
        cliente.disparar_evento("teste", {})

    assert len(cliente.esperas) == 2


def test_a_post_is_not_retried_when_the_connection_broke_after_sending(cliente, http):
    http.post(f"{BASE}/api/integracoes/disparar/", body=requests.ConnectionError("Connection aborted."))

    with pytest.raises(ConexaoError):
        cliente.disparar_evento("teste", {})

    assert cliente.esperas == []


@pytest.mark.parametrize(
    ("status", "classe"),
    [(401, AutenticacaoError), (403, AutenticacaoError), (404, NaoEncontradoError), (500, FiscalAPIError)],
)
def test_statuses_map_to_typed_errors(cliente, http, status, classe):
    http.get(
        f"{BASE}/api/nfes/{CHAVE}/", status=status, json={"erro": "mensagem do servidor", "detalhes": {"campo": ["x"]}}
    )

    with pytest.raises(classe) as excecao:
        cliente.buscar_nfe(CHAVE)

    assert type(excecao.value) is classe
    assert (excecao.value.status_code, excecao.value.mensagem, excecao.value.detalhes) == (
        status, "mensagem do servidor", {"campo": ["x"]}
    )  # fmt: skip


def test_next_pages_are_fetched_from_the_clients_own_address(cliente, http):
    # Behind a proxy the server may build `next` with an internal host and plain http.
    primeira = {"limit": "500", "situacao": "autorizada"}
    proxima = "http://interno:8000/api/nfes/?cursor=abc&limit=500&situacao=autorizada"
    http.get(f"{BASE}/api/nfes/", match=[query_param_matcher(primeira)], json={"next": proxima, "results": [{"n": 1}]})
    segunda = {**primeira, "cursor": "abc"}
    http.get(f"{BASE}/api/nfes/", match=[query_param_matcher(segunda)], json={"next": None, "results": [{"n": 2}]})

    assert [n["n"] for n in cliente.iterar_nfes(situacao="autorizada")] == [1, 2]


def test_filters_are_encoded_for_the_api(cliente, http):
    http.get(f"{BASE}/api/ctes/totais/", json={})

    cliente.totais_cte(situacao=["autorizada", "cancelada"], completa=False, data_inicio=date(2026, 1, 2), tomador=None)

    assert http.calls[0].request.url.endswith(
        "?situacao=autorizada&situacao=cancelada&completa=false&data_inicio=2026-01-02"
    )


def test_keys_are_checked_before_any_request(cliente):
    with pytest.raises(ValueError):
        cliente.buscar_nfe("123")
    with pytest.raises(ValueError):
        cliente.baixar_xml(CHAVE[:20] + "99" + CHAVE[22:])  # model 99 is neither NF-e nor CT-e
