"""Certificates, SEFAZ queries and manifestations through the client: live server + SEFAZ simulator."""

import pytest

from fiscal_api_client import ConflitoError, LimiteExcedidoError, ValidacaoError
from tests.sefaz.test_distribuicao import DESTINATARIO, SENHA, notas

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pfx(a1_destinatario, tmp_path):
    caminho = tmp_path / "destinatario.pfx"
    caminho.write_bytes(a1_destinatario.pfx(SENHA.encode()))
    return caminho


def test_certificate_query_and_manifestations(cliente, sim, pfx, emissor):
    # given: a certificate sent through the client, and three NF-e addressed to it at SEFAZ
    certificado = cliente.enviar_certificado(pfx, SENHA, uf="PR", servicos=["nfe", "cte"], consulta_automatica=True)
    assert certificado["cnpj"] == DESTINATARIO and certificado["servicos"] == ["nfe", "cte"]
    assert "senha" not in certificado
    assert [c["id"] for c in cliente.listar_certificados()] == [certificado["id"]]
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar_para_destinatario(DESTINATARIO, nota.xml)

    # when
    execucao = cliente.consultar_sefaz(certificado["id"], servicos=["nfe"])
    ciencia = cliente.manifestar(documentos[0].chave, "ciencia")
    lote = cliente.manifestar_lote(
        [n.chave for n in documentos[1:]], "nao_realizada", justificativa="mercadoria nunca foi encomendada"
    )

    # then
    [nfe] = execucao["servicos"]
    assert (nfe["servico"], nfe["cstat"], nfe["documentos"]) == ("nfe", 138, 3)
    assert [c["cstat"] for c in cliente.consultas(servico="nfe", tipo=["distNSU"])["results"]] == [138]
    assert cliente.consultas(execucao=execucao["execucao"], com_erro=True)["results"] == []
    assert [(r["chave"], r["registrada"]) for r in ciencia["resultados"]] == [(documentos[0].chave, True)]
    assert [r["registrada"] for r in lote["resultados"]] == [True, True]
    assert [e.tipo_evento for e in sim.eventos_registrados] == ["210210", "210240", "210240"]
    pendentes = list(cliente.nfes_pendentes_de_manifestacao())  # only the one with just the ciência
    assert [(n["chave"], n["manifestacao"]["situacao"]) for n in pendentes] == [(documentos[0].chave, "ciencia")]
    assert list(cliente.nfes_pendentes_de_manifestacao(vence_em_dias=5)) == []  # issued days ago: 170+ days left


def test_a_sefaz_wait_is_raised_at_once_with_its_retry_after(cliente, sim, pfx):
    certificado = cliente.enviar_certificado(pfx, SENHA, uf="41", servicos="nfe")
    cliente.consultar_sefaz(certificado["id"])  # 137: nothing new, SEFAZ asks for an hour's wait

    with pytest.raises(LimiteExcedidoError) as erro:
        cliente.consultar_sefaz(certificado["id"])

    assert erro.value.retry_after > 3500 and erro.value.detalhes["permitida_em"]
    assert cliente.esperas == []  # no retry: SEFAZ's wait is not a rate limit to sleep through


def test_certificate_errors_are_typed(cliente, sim, pfx):
    with pytest.raises(ValidacaoError) as erro:
        cliente.enviar_certificado(pfx, "senha errada")
    assert "senha" in erro.value.detalhes

    primeiro = cliente.enviar_certificado(pfx, SENHA)
    with pytest.raises(ConflitoError) as erro:
        cliente.enviar_certificado(pfx, SENHA)
    assert erro.value.detalhes == {"certificado": primeiro["id"]}

    with pytest.raises(ValidacaoError) as erro:
        cliente.manifestar_lote(["1" * 44], "ciencia")
    assert "chaves" in erro.value.detalhes
