"""The client's event feed and webhook methods, against a live server delivering to a real receiver.

Every delivery the receiver gets is checked twice: by `verificar_webhook` and by the reference
`standardwebhooks` library.
"""

import json
from datetime import date

import pytest
from standardwebhooks.webhooks import Webhook as SW

from core.webhooks.entrega import entregar_pendentes
from fiscal_api_client import ConflitoError, NaoEncontradoError, verificar_webhook
from tests.webhooks.receptor import Receptor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receptor(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # delivered in this thread (in-memory SQLite)
    receptor = Receptor()
    yield receptor
    receptor.fechar()


def conferir_entregas(recebidos, segredo):
    """Every delivery verifies with the client and with the reference library, to the same event."""
    for corpo, cabecalhos in recebidos:
        assert (
            verificar_webhook(segredo, cabecalhos, corpo) == SW(segredo).verify(corpo, cabecalhos) == json.loads(corpo)
        )


def test_webhook_lifecycle(cliente, receptor, gerador, tmp_path):
    # given
    criado = cliente.criar_webhook("ERP", receptor.url, eventos=["nfe_importada", "teste"])
    webhook_id, segredo = criado["id"], criado["segredo"]
    assert segredo.startswith("whsec_") and criado["eventos"] == ["nfe_importada", "teste"]
    assert [w["id"] for w in cliente.listar_webhooks()] == [webhook_id]
    assert "segredo" not in cliente.buscar_webhook(webhook_id)
    assert cliente.atualizar_webhook(webhook_id, timeout=5, eventos="nfe_importada,teste")["timeout"] == 5

    # when: a test, an imported NF-e, a re-send, a rotation
    teste = cliente.testar_webhook(webhook_id)
    nota = gerador.nfe(numero=31)
    (tmp_path / "nota.xml").write_bytes(nota.xml)
    cliente.importar_xml(tmp_path / "nota.xml")
    assert entregar_pendentes(limite=10) == 1
    [log] = cliente.logs_webhook(webhook_id, evento="nfe_importada")["results"]
    reenvio = cliente.reenviar(webhook_id, log["id"])
    rotacao = cliente.rotacionar_segredo(webhook_id, sobreposicao_horas=1)
    depois_da_rotacao = cliente.testar_webhook(webhook_id)

    # then
    assert teste["sucesso"] and teste["codigo_http"] == 200
    assert reenvio["status"] == "sucesso" and reenvio["evento"] == log["evento"]
    assert receptor.ids[1] == receptor.ids[2] == log["evento"]  # the same webhook-id twice
    conferir_entregas(receptor.recebidos[:3], segredo)
    assert depois_da_rotacao["sucesso"]
    [(corpo, cabecalhos)] = receptor.recebidos[3:]
    assert len(cabecalhos["webhook-signature"].split()) == 2  # old and new secret during the overlap
    conferir_entregas([(corpo, cabecalhos)], segredo)
    conferir_entregas([(corpo, cabecalhos)], rotacao["segredo"])
    assert len(cliente.logs_webhook(webhook_id)["results"]) == 4
    assert cliente.logs_webhook(webhook_id, status=["sucesso"], desde=date.today())["results"]

    estatisticas = cliente.estatisticas_webhooks(desde=date(2020, 1, 1))
    assert estatisticas["webhooks"][0]["entregas"] >= 4

    cliente.atualizar_webhook(webhook_id, ativo=False)
    with pytest.raises(ConflitoError):
        cliente.testar_webhook(webhook_id)
    cliente.atualizar_webhook(webhook_id, ativo=True)
    recuperacao = cliente.recuperar_webhook(webhook_id, desde=date(2020, 1, 1), dry_run=True)
    assert recuperacao == {"eventos": 0, "dry_run": True}  # it got everything it subscribed to

    assert cliente.excluir_webhook(webhook_id) is None
    assert cliente.listar_webhooks() == []
    with pytest.raises(NaoEncontradoError):
        cliente.buscar_webhook(webhook_id)


def test_recuperar_sends_what_a_webhook_missed_while_disabled(cliente, receptor):
    webhook_id = cliente.criar_webhook("BI", receptor.url, eventos="cte_importado")["id"]
    cliente.atualizar_webhook(webhook_id, ativo=False)
    perdido = cliente.disparar_evento("cte_importado", {"chave": "perdido"})
    assert perdido["entregas"] == 0
    cliente.atualizar_webhook(webhook_id, ativo=True)

    assert cliente.recuperar_webhook(webhook_id, desde=date(2020, 1, 1), dry_run=True) == {
        "eventos": 1,
        "dry_run": True,
    }
    assert cliente.recuperar_webhook(webhook_id, desde="2020-01-01T00:00:00-03:00") == {"eventos": 1, "dry_run": False}
    assert entregar_pendentes(limite=10) == 1

    assert receptor.ids == [perdido["id"]]


def test_disparar_evento_and_the_catalogue(cliente, receptor):
    catalogo = {e["evento"] for e in cliente.eventos_disponiveis()["eventos"]}
    assert {"nfe_importada", "cte_importado", "teste"} <= catalogo
    segredo = cliente.criar_webhook("Todos", receptor.url)["segredo"]

    disparado = cliente.disparar_evento("cte_importado", {"chave": "exemplo"})

    assert disparado["evento"] == "cte_importado" and disparado["entregas"] == 1
    assert entregar_pendentes(limite=10) == 1
    conferir_entregas(receptor.recebidos, segredo)
    assert json.loads(receptor.recebidos[0][0])["id"] == disparado["id"]


def test_testar_url_signs_with_the_given_secret(cliente, receptor):
    segredo = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="

    resultado = cliente.testar_url(receptor.url, segredo=segredo, headers={"X-Origem": "teste"}, timeout=5)

    assert resultado["sucesso"] and resultado["codigo_http"] == 200
    [(corpo, cabecalhos)] = receptor.recebidos
    assert cabecalhos["x-origem"] == "teste"
    assert verificar_webhook(segredo, cabecalhos, corpo)["evento"] == "teste"


def test_the_event_feed_pages_and_resumes_from_a_cursor(cliente, sem_atraso_no_feed):
    ids = [cliente.disparar_evento("teste", {"n": n})["id"] for n in range(5)]
    cliente.disparar_evento("erro_importacao", {"arquivo": "x.xml"})

    primeira = cliente.eventos_desde(limit=2)
    assert [e["id"] for e in primeira["eventos"]] == ids[:2] and primeira["tem_mais"]
    assert primeira["cursor"] == ids[1]
    seguinte = cliente.eventos_desde(primeira["cursor"], tipos=["teste"], limit=500)
    assert [e["id"] for e in seguinte["eventos"]] == ids[2:] and not seguinte["tem_mais"]

    assert [e["id"] for e in cliente.iterar_eventos(tipos="teste", limit=2)] == ids
    assert [e["dados"]["n"] for e in cliente.iterar_eventos(ids[2], tipos=["teste"])] == [3, 4]
    assert len(list(cliente.iterar_eventos(limit=4))) == 6
    fim = cliente.eventos_desde(ids[-1], tipos="teste")
    assert fim == {"eventos": [], "cursor": ids[-1], "tem_mais": False}


def test_tipos_de_evento_lists_the_catalogue_and_filters_by_document(cliente):
    todos = cliente.tipos_de_evento()
    do_cte = cliente.tipos_de_evento(documento="cte")

    assert {"110001", "211128", "610110"} <= {t["codigo"] for t in todos}
    assert {t["documento"] for t in do_cte} == {"cte"} and len(do_cte) < len(todos)
    assert next(t for t in todos if t["codigo"] == "110001")["categoria"] == "cancelamento_evento"
