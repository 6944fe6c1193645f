"""Typed errors and the rate limit, as the live server really answers them."""

import time

import pytest

from fiscal_api_client import (
    AutenticacaoError,
    ConflitoError,
    LimiteExcedidoError,
    ValidacaoError,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_wrong_token_is_an_authentication_error(novo_cliente, nova_org):
    cliente = novo_cliente("token-que-nao-existe")

    with pytest.raises(AutenticacaoError) as erro:
        cliente.listar_nfes()

    assert erro.value.status_code == 401
    assert erro.value.mensagem.startswith("Token inválido")


def test_a_bad_filter_is_a_validation_error_naming_the_field(cliente):
    with pytest.raises(ValidacaoError) as erro:
        cliente.listar_nfes(situacao="inventada", emitente_uf="XX")

    assert erro.value.status_code == 400
    assert erro.value.mensagem == "Parâmetros inválidos."
    assert {"situacao", "emitente_uf"} <= set(erro.value.detalhes)
    assert "situacao" in str(erro.value)


def test_a_danfe_of_a_summary_is_a_conflict(cliente, gerador, tmp_path):
    resumo = gerador.resumo_nfe(nfe=gerador.nfe(numero=5))
    (tmp_path / "resumo.xml").write_bytes(resumo.xml)
    cliente.importar_xml(tmp_path / "resumo.xml")

    with pytest.raises(ConflitoError) as erro:
        cliente.baixar_danfe(resumo.chave)

    assert erro.value.status_code == 409


def test_a_429_waits_retry_after_and_then_succeeds(novo_cliente, nova_org, settings, relogio):
    settings.RATE_LIMIT_PER_MINUTE = 2
    cliente = novo_cliente(nova_org.token)
    cliente._dormir = lambda segundos: (cliente.esperas.append(segundos), relogio.avancar(segundos))
    cliente.dashboard()
    cliente.dashboard()

    cliente.dashboard()  # the third in this minute: 429, waits for the next minute, succeeds

    assert cliente.esperas == [50]  # Retry-After: the 49.75 s left in the minute, rounded up
    assert cliente.ultima_cota.restantes == 1


def test_with_respeitar_cota_it_waits_for_the_window_to_end_instead_of_taking_a_429(
    novo_cliente, nova_org, settings, relogio
):
    # given: a server clock 5 s ahead of this machine's, so X-RateLimit-Reset is 5 to 65 s from now here
    settings.RATE_LIMIT_PER_MINUTE = 2
    relogio.agora = time.time() + 5
    avisos = []
    cliente = novo_cliente(nova_org.token, respeitar_cota=True, ao_esperar=lambda s, motivo: avisos.append((s, motivo)))
    cliente._dormir = lambda segundos: (cliente.esperas.append(segundos), relogio.avancar(segundos))
    cliente.dashboard()
    cliente.dashboard()
    reinicio = cliente.ultima_cota.reinicia_em
    assert cliente.ultima_cota.restantes == 0

    # when: the third request of the minute
    cliente.dashboard()

    # then: it waited for the reset (at most espera_maxima), said why, and was not refused
    [espera] = cliente.esperas
    assert espera == pytest.approx(min(reinicio - time.time(), 60), abs=1) and espera > 0
    assert avisos == [(espera, "limite de 2 requisições por minuto atingido (X-RateLimit-Reset)")]
    assert cliente.ultima_cota.restantes == 1  # the first request of the next window: no 429 in between


def test_without_respeitar_cota_a_spent_window_costs_a_429_first(novo_cliente, nova_org, settings, relogio):
    settings.RATE_LIMIT_PER_MINUTE = 1
    avisos = []
    cliente = novo_cliente(nova_org.token, ao_esperar=lambda s, motivo: avisos.append((s, motivo)))
    cliente._dormir = lambda segundos: (cliente.esperas.append(segundos), relogio.avancar(segundos))
    cliente.dashboard()

    cliente.dashboard()

    assert avisos == [(50, "o servidor pediu (Retry-After)")]


def test_a_429_past_the_retries_is_raised_with_retry_after(novo_cliente, nova_org, settings, relogio):
    settings.RATE_LIMIT_PER_MINUTE = 1
    cliente = novo_cliente(nova_org.token, max_retries=2)
    cliente.dashboard()

    with pytest.raises(LimiteExcedidoError) as erro:
        cliente.dashboard()  # the clock does not move: every retry is refused again

    assert erro.value.status_code == 429 and erro.value.retry_after == 50
    assert erro.value.detalhes["limite_por_minuto"] == 1
    assert cliente.esperas == [50, 50]
    assert cliente.ultima_cota.restantes == 0
