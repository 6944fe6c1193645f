"""The webhook curl examples of INTEGRACOES.md, run as written against a live server and a real receiver."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as SW

from core.geracao.documentos import gerar_nfe
from core.models import Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import Receptor

INTEGRACOES = Path(__file__).resolve().parents[2] / "INTEGRACOES.md"


def bloco_de_exemplos() -> str:
    texto = INTEGRACOES.read_text()
    trecho = re.search(r"<!-- webhooks-curl:inicio -->\s*```bash\n(.*?)```\s*<!-- webhooks-curl:fim -->", texto, re.S)
    assert trecho, "INTEGRACOES.md perdeu o bloco de exemplos de webhooks"
    return trecho.group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl e jq são necessários")
@pytest.mark.django_db(transaction=True)
def test_webhook_examples_run_against_a_live_server(live_server, nova_org, emissor, tmp_path, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # delivered below, in this thread (in-memory SQLite)
    org, receptor = nova_org.organizacao, Receptor()
    nota = gerar_nfe(certificado=emissor, numero=77)
    (tmp_path / "nota.xml").write_bytes(nota.xml)
    ambiente = {**os.environ, "FISCAL_URL": live_server.url, "TOKEN": nova_org.token, "WEBHOOK_URL": receptor.url}
    try:
        execucao = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", bloco_de_exemplos()],
            cwd=tmp_path, env=ambiente, capture_output=True, text=True, timeout=120,
        )
        assert execucao.returncode == 0, execucao.stderr + execucao.stdout
        webhook = escopo(Webhook, org).get()
        original, atual = webhook.segredo_anterior, webhook.segredo
        assert original and atual != original  # rotated by the examples

        # testar and integracoes/testar were sent during the requests themselves
        assert [json.loads(corpo)["evento"] for corpo, _ in receptor.recebidos] == ["teste", "teste"]
        for corpo, cabecalhos in receptor.recebidos:
            SW(original).verify(corpo, cabecalhos)

        # the imported NF-e and the manual cte_importado wait for the worker
        assert entregar_pendentes(limite=10) == 2
    finally:
        receptor.fechar()

    entregues = [json.loads(corpo) for corpo, _ in receptor.recebidos[2:]]
    assert [(e["evento"], e["dados"]["chave"]) for e in entregues] == [
        ("nfe_importada", nota.chave), ("cte_importado", "exemplo")
    ]  # fmt: skip
    for corpo, cabecalhos in receptor.recebidos[2:]:
        SW(atual).verify(corpo, cabecalhos)
        SW(original).verify(corpo, cabecalhos)  # still valid during the 24 h overlap
    assert escopo(Webhook, org).get().timeout == 5
    assert escopo(WebhookLog, org).filter(status=WebhookLog.Status.SUCESSO).count() == 3
    assert '"dry_run":true' in execucao.stdout.replace(" ", "")
