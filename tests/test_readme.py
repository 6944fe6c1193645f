"""The curl examples in README.md, run as written against a live server."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import Origem

README = Path(__file__).resolve().parent.parent / "README.md"


def bloco_de_exemplos() -> str:
    texto = README.read_text()
    trecho = re.search(r"<!-- exemplos-curl:inicio -->\s*```bash\n(.*?)```\s*<!-- exemplos-curl:fim -->", texto, re.S)
    assert trecho, "README.md perdeu o bloco de exemplos curl"
    return trecho.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl não está instalado nesta máquina")
@pytest.mark.django_db(transaction=True)
def test_readme_curl_examples_run_against_a_live_server(live_server, nova_org, emissor, tmp_path):
    documento = gerar_nfe(certificado=emissor, numero=42)
    importar_bytes(organizacao=nova_org.organizacao, nome="n.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    ambiente = {**os.environ, "FISCAL_URL": live_server.url, "TOKEN": nova_org.token, "CHAVE": documento.chave}

    execucao = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", bloco_de_exemplos()],
        cwd=tmp_path, env=ambiente, capture_output=True, text=True, timeout=120,
    )

    assert execucao.returncode == 0, execucao.stderr + execucao.stdout
    assert documento.chave in execucao.stdout
    assert (tmp_path / f"{documento.chave}-procNFe.xml").read_bytes() == documento.xml
    assert (tmp_path / f"{documento.chave}-danfe.pdf").read_bytes().startswith(b"%PDF")
    assert documento.chave in (tmp_path / "nfes.csv").read_text(encoding="utf-8-sig")
    assert '"duplicado"' in execucao.stdout
