"""Typed errors and the rate limit, as the live server really answers them."""

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
