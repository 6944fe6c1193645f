"""The quick start of exemplos/README.md, run as written (bash) against a live server."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.documentos.importacao import importar_bytes
from core.models import Origem, Webhook
from core.tenancy import escopo
from fiscal_api_client import FiscalAPIClient
from tests.webhooks.receptor import porta_livre

RAIZ = Path(__file__).resolve().parents[2]
README = RAIZ / "exemplos" / "README.md"


def bloco_rapido() -> str:
    trecho = re.search(
        r"<!-- exemplos-rapido:inicio -->\s*```bash\n(.*?)```\s*<!-- exemplos-rapido:fim -->", README.read_text(), re.S
    )
    assert trecho, "exemplos/README.md perdeu o bloco do começo rápido"
    return trecho.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl não está instalado nesta máquina")
@pytest.mark.django_db(transaction=True)
def test_the_quick_start_runs_against_a_live_server(live_server, nova_org, gerador, settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS = 0
    nota = gerador.nfe(numero=8)
    importar_bytes(organizacao=nova_org.organizacao, nome="n.xml", conteudo=nota.xml, origem=Origem.UPLOAD)
    # The commands run from the repository root: the same names, in a scratch directory.
    for nome, alvo in {".venv": Path(sys.prefix), "exemplos": RAIZ / "exemplos",
                       "fiscal_api_client.py": RAIZ / "fiscal_api_client.py"}.items():  # fmt: skip
        (tmp_path / nome).symlink_to(alvo)
    porta = porta_livre()
    ambiente = {**os.environ, "FISCAL_URL": live_server.url, "TOKEN": nova_org.token, "PORTA": str(porta)}
    # Someone who ran it before (or the quick start guide) left a webhook for this address, with another secret.
    url = f"http://127.0.0.1:{porta}/webhook"
    with FiscalAPIClient(live_server.url, nova_org.token) as cliente:
        anterior = cliente.criar_webhook("Receptor local", url)

    execucao = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", bloco_rapido()],
        cwd=tmp_path, env=ambiente, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert execucao.returncode == 0, execucao.stderr + execucao.stdout
    assert "entregue: True 200" in execucao.stdout
    listagem = json.loads(execucao.stdout[execucao.stdout.index('{"eventos"') :].splitlines()[0])
    assert [(e["evento"], e["entregas"]) for e in listagem["eventos"]] == [("teste", 1)]
    assert (tmp_path / "xmls" / f"{nota.chave}-procNFe.xml").read_bytes() == nota.xml
    assert "whsec_" not in (tmp_path / "receptor.log").read_text()
    [webhook] = escopo(Webhook, nova_org.organizacao).filter(url=url)  # the earlier one was replaced
    assert webhook.pk != anterior["id"]
