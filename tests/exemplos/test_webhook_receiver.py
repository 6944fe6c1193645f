"""exemplos/webhook_receiver.py, run as a subprocess and fed by the live server's real deliveries."""

import json
import sqlite3
import time
from datetime import datetime, UTC

import pytest
import requests
from standardwebhooks.webhooks import Webhook as SW

from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import porta_livre

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_stores_each_event_once_and_refuses_bad_signatures(
    cliente, entrega_controlada, iniciar_exemplo, gerador, tmp_path
):
    # given: a webhook of the live server pointing at the receiver, started with its secret
    banco, porta = tmp_path / "recebidos.sqlite3", porta_livre()
    criado = cliente.criar_webhook("Receptor", f"http://127.0.0.1:{porta}/webhook", eventos=["nfe_importada", "teste"])
    ambiente = {"FISCAL_WEBHOOK_SEGREDO": criado["segredo"]}
    receptor = iniciar_exemplo("webhook_receiver.py", ambiente, "--banco", str(banco), porta=porta)
    nota = gerador.nfe(numero=55)
    (tmp_path / "nota.xml").write_bytes(nota.xml)

    # when: a test event, an imported NF-e delivered by the worker, then the same event sent again
    assert cliente.testar_webhook(criado["id"])["sucesso"]
    cliente.importar_xml(tmp_path / "nota.xml")
    assert entregar_pendentes(limite=10) == 1
    [log] = cliente.logs_webhook(criado["id"], evento="nfe_importada")["results"]
    reenvio = cliente.reenviar(criado["id"], log["id"])

    # then
    assert log["status"] == "sucesso" and reenvio["status"] == "sucesso"  # the repeat is acknowledged (200)
    listagem = requests.get(receptor.url, timeout=5).json()
    assert [(e["evento"], e["entregas"]) for e in listagem["eventos"]] == [("nfe_importada", 2), ("teste", 1)]
    nfe = listagem["eventos"][0]
    assert nfe["webhook_id"] == log["evento"] and nfe["dados"]["chave"] == nota.chave
    with sqlite3.connect(banco) as conexao:
        [(corpo,)] = conexao.execute("SELECT corpo FROM eventos WHERE evento = 'nfe_importada'").fetchall()
    assert json.loads(corpo)["dados"]["chave"] == nota.chave
    assert "repetido" in receptor.log()
    # A browser gets the table (its Accept ends in */*, which JSON also matches); curl and HTTP libraries, JSON.
    navegador = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    pagina = requests.get(receptor.url, headers={"Accept": navegador}, timeout=5)
    assert pagina.headers["Content-Type"].startswith("text/html")
    assert "nº 55 · " in pagina.text and nota.chave in pagina.text and "nfe_importada" in pagina.text
    assert requests.get(receptor.url, headers={"Accept": "*/*"}, timeout=5).json()["total"] == 2

    # and a forged or replayed delivery is refused and stores nothing
    corpo = json.dumps({"id": "evt_forjado", "evento": "nfe_importada", "dados": {}}).encode()
    forjado = _assinado(gerar_segredo(), "evt_forjado", corpo, time.time())
    antigo = _assinado(criado["segredo"], "evt_antigo", corpo, time.time() - 600)
    for cabecalhos in (forjado, antigo, {"webhook-id": "evt_sem_assinatura"}):
        resposta = requests.post(f"{receptor.url}/webhook", data=corpo, headers=cabecalhos, timeout=5)
        assert resposta.status_code == 401, resposta.text
    assert len(requests.get(receptor.url, timeout=5).json()["eventos"]) == 2


def test_it_refuses_to_start_without_a_valid_secret(iniciar_exemplo):
    with pytest.raises(AssertionError, match="FISCAL_WEBHOOK_SEGREDO"):
        iniciar_exemplo("webhook_receiver.py", {"FISCAL_WEBHOOK_SEGREDO": "whsec_?"})


def _assinado(segredo, evento_id, corpo, momento):
    assinatura = SW(segredo).sign(evento_id, datetime.fromtimestamp(momento, tz=UTC), corpo.decode())
    return {"webhook-id": evento_id, "webhook-timestamp": str(int(momento)), "webhook-signature": assinatura,
            "Content-Type": "application/json"}  # fmt: skip
