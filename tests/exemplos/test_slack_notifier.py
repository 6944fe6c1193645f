"""exemplos/slack_notifier.py, run as a subprocess: real deliveries in, a local server standing in for Slack."""

import json
from decimal import Decimal

import pytest
import requests

from core.models import NFe
from core.tenancy import escopo
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import Receptor, esperar, porta_livre

# A batch closes after 0.3 s without deliveries (3 s by default); 5 events of a type make a summary.
AGRUPAMENTO = {"FISCAL_SLACK_JANELA_SEGUNDOS": "0.3", "FISCAL_SLACK_LIMITE_LOTE": "5"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slack():
    # The first post fails (Slack down), every later one succeeds.
    slack = Receptor([(500, {}), (200, {})])
    yield slack
    slack.fechar()



def saude(notificador) -> dict:
    return requests.get(f"{notificador.url}/health", timeout=5).json()

def test_it_posts_each_event_once_with_colour_fields_and_link(
    cliente, entrega_controlada, iniciar_exemplo, gerador, slack, org, tmp_path
):
    # given
    porta = porta_livre()
    criado = cliente.criar_webhook("Slack", f"http://127.0.0.1:{porta}/webhook", eventos="nfe_importada,cte_importado")
    ambiente = {"FISCAL_WEBHOOK_SEGREDO": criado["segredo"], "SLACK_WEBHOOK_URL": slack.url, **AGRUPAMENTO,
                "FISCAL_LINK_DOCUMENTO": "https://fiscal.exemplo.com.br/admin/core/{tipo}/?q={chave}"}  # fmt: skip
    notificador = iniciar_exemplo("slack_notifier.py", ambiente, porta=porta)
    nota, cte = gerador.nfe(numero=900, destinatario_nome="COMERCIAL EXEMPLO SA"), gerador.cte(numero=12)
    (tmp_path / "nota.xml").write_bytes(nota.xml)
    (tmp_path / "cte.xml").write_bytes(cte.xml)

    # when: the NF-e arrives while Slack is down, a CT-e next; then a repeat of the NF-e
    cliente.importar_xml(tmp_path / "nota.xml")
    assert entregar_pendentes(limite=10) == 1
    cliente.importar_xml(tmp_path / "cte.xml")
    assert entregar_pendentes(limite=10) == 1
    [log_nfe] = cliente.logs_webhook(criado["id"], evento="nfe_importada", status="sucesso")["results"]
    assert cliente.reenviar(criado["id"], log_nfe["id"])["status"] == "sucesso"

    # then: each delivery was answered at once; the notifier posted the NF-e again itself once Slack was
    # back, then the CT-e (two events: below the batch limit, one message each); the repeat not posted
    tentativas = cliente.logs_webhook(criado["id"], evento="nfe_importada")["results"]
    assert [(t["tentativa"], t["status"], t["codigo_http"]) for t in tentativas] == [(2, "sucesso", 200), (1, "sucesso", 200)]
    assert esperar(lambda: len(slack.recebidos) == 3, prazo=15), notificador.log()
    mensagens = [json.loads(corpo) for corpo, _ in slack.recebidos]
    falhou, nfe_msg, cte_msg = mensagens
    assert falhou == nfe_msg  # the same message, posted again once Slack was back
    [anexo] = nfe_msg["attachments"]
    assert anexo["color"] == "#2EB67D" and anexo["title"] == "NF-e recebida"
    assert anexo["title_link"] == f"https://fiscal.exemplo.com.br/admin/core/nfe/?q={nota.chave}"
    campos = {c["title"]: c["value"] for c in anexo["fields"]}
    assert campos["Chave"] == f"`{nota.chave}`" and campos["Número/Série"].startswith("900/")
    assert campos["Valor"].startswith("R$ ") and "COMERCIAL EXEMPLO SA" in campos["Destinatário"]
    assert "NF-e 900" in nfe_msg["text"]
    assert cte_msg["attachments"][0]["color"] == "#1D9BD1"
    assert cte_msg["attachments"][0]["title_link"].endswith(f"/admin/core/cte/?q={cte.chave}")
    assert "Slack não aceitou" in notificador.log() and slack.url not in notificador.log()

    # The notifier counts a post after Slack has answered it: the count may trail what Slack received.
    esperado = {"status": "ok", "eventos_recebidos": 2, "eventos_postados": 2, "eventos_aguardando": 0}
    assert esperar(lambda: saude(notificador) == esperado, prazo=10), saude(notificador)
    falso = requests.post(f"{notificador.url}/webhook", data=b"{}", headers={"webhook-id": "x"}, timeout=5)
    assert falso.status_code == 401 and len(slack.recebidos) == 3


def test_an_import_batch_above_the_limit_is_one_message_with_count_and_total(
    cliente, entrega_controlada, iniciar_exemplo, gerador, org, tmp_path
):
    """Issue 15: one import of 493 notes made 493 Slack messages."""
    # given
    slack, porta = Receptor(), porta_livre()
    criado = cliente.criar_webhook("Slack", f"http://127.0.0.1:{porta}/webhook", eventos="nfe_importada")
    ambiente = {"FISCAL_WEBHOOK_SEGREDO": criado["segredo"], "SLACK_WEBHOOK_URL": slack.url, **AGRUPAMENTO}
    notificador = iniciar_exemplo("slack_notifier.py", ambiente, porta=porta)
    arquivos = []
    for numero in range(1, 9):
        arquivos.append(tmp_path / f"nota-{numero}.xml")
        arquivos[-1].write_bytes(gerador.nfe(numero=numero).xml)

    try:
        # when: one import of six notes, then (a batch later) one of two
        cliente.importar_xml(*arquivos[:6])
        assert entregar_pendentes(limite=10) == 6
        assert esperar(lambda: len(slack.recebidos) == 1, prazo=10), notificador.log()
        cliente.importar_xml(*arquivos[6:])
        assert entregar_pendentes(limite=10) == 2
        assert esperar(lambda: len(slack.recebidos) == 3, prazo=10), notificador.log()
    finally:
        slack.fechar()

    # then: the six as one message with their count and total value, the two as one message each
    resumo, *individuais = [json.loads(corpo) for corpo, _ in slack.recebidos]
    total = sum(escopo(NFe, org).exclude(numero__in=[7, 8]).values_list("valor_total", flat=True), Decimal(0))
    total_em_reais = f"R$ {total:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    assert resumo["text"] == f"*6 NF-e recebidas* — total {total_em_reais}"
    campos = {c["title"]: c["value"] for c in resumo["attachments"][0]["fields"]}
    assert campos["Quantidade"] == "6" and campos["Valor total"] == total_em_reais
    assert sorted(m["attachments"][0]["title"] for m in individuais) == ["NF-e recebida", "NF-e recebida"]
    assert esperar(lambda: saude(notificador)["eventos_postados"] == 8, prazo=10), saude(notificador)


@pytest.mark.django_db(transaction=False)
def test_a_reform_credit_note_shows_ibs_cbs_and_its_finalidade_and_a_2025_document_does_not():
    import importlib.util
    from pathlib import Path

    from core.eventos.catalogo import TIPOS

    caminho = Path(__file__).resolve().parents[2] / "exemplos" / "slack_notifier.py"
    especificacao = importlib.util.spec_from_file_location("slack_notifier_exemplo", caminho)
    notificador = importlib.util.module_from_spec(especificacao)
    especificacao.loader.exec_module(notificador)
    exemplo = TIPOS["nfe_importada"].exemplo  # the payload shape integrators get

    credito = {**exemplo, "finalidade": 5, "finalidade_nome": "Nota de crédito",
               "valores": {**exemplo["valores"], "ibs": "12.40", "cbs": "1110.00"}}  # fmt: skip
    campos = {c["title"]: c["value"] for c in notificador._campos("nfe_importada", credito)}
    assert campos["IBS / CBS"] == "R$ 12,40 / R$ 1.110,00"
    assert campos["Finalidade"] == "Nota de crédito"

    antiga = {**exemplo, "finalidade": 1, "valores": {**exemplo["valores"], "ibs": None, "cbs": None}}
    campos = {c["title"] for c in notificador._campos("nfe_importada", antiga)}
    assert "IBS / CBS" not in campos and "Finalidade" not in campos
