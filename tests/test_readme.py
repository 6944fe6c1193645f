"""README.md: its curl examples run as written against a live server, and what the rest of it names exists."""

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


# --- The rest of README.md: what it names must exist ---------------------------------------------

RAIZ = README.parent


def secoes() -> list[str]:
    return re.findall(r"^## (.+)$", README.read_text(), re.M)


def ancora(titulo: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", titulo.strip().lower()).replace(" ", "-")


def test_the_two_commands_come_first():
    texto = README.read_text()

    assert secoes()[0] == "Os dois comandos"
    primeiro_bloco = re.search(r"```bash\n(.*?)```", texto, re.S).group(1)
    assert [linha.split("#")[0].strip() for linha in primeiro_bloco.splitlines()] == ["make run", "make test"]


def test_it_has_the_sections_the_issue_asks_for():
    pedidas = {"Arquitetura", "Configuração", "Implantação em produção", "Como rodar os testes", "Desempenho"}
    assert pedidas <= set(secoes())


def test_the_architecture_has_one_terminal_friendly_diagram_naming_every_step():
    arquitetura = re.search(r"^## Arquitetura\n(.*?)^## ", README.read_text(), re.S | re.M).group(1)
    [diagrama] = re.findall(r"```text\n(.*?)```", arquitetura, re.S)

    assert max(len(linha) for linha in diagrama.splitlines()) <= 100
    passos = ["SEFAZ", "POST /api/importar/", "importar_xml", "assinatura", "ImportLog", "Evento", "MESMA transação",
              "depois do commit", "webhook_worker", "e-mails", "GET /api/eventos/"]  # fmt: skip
    assert [passo for passo in passos if passo not in diagrama] == []


def test_every_path_the_readme_names_exists():
    texto = README.read_text()
    caminhos = set(re.findall(r"`((?:core|api|deploy|tests|bench|fiscal_app|templates)/[\w./-]*)`", texto))
    caminhos |= {c for c in re.findall(r"\]\(([^)#:]+)\)", texto)}  # relative links

    assert len(caminhos) > 20
    assert sorted(c for c in caminhos if not (RAIZ / c).exists()) == []


def test_every_anchor_link_points_to_a_heading():
    texto = README.read_text()
    ancoras = {ancora(t) for t in re.findall(r"^#{2,4} (.+)$", texto, re.M)}

    assert sorted(set(re.findall(r"\]\(#([^)]+)\)", texto)) - ancoras) == []


def test_every_make_target_and_management_command_the_readme_names_exists():
    from django.core.management import get_commands

    texto = README.read_text()
    alvos = set(re.findall(r"^([\w-]+):", (RAIZ / "Makefile").read_text(), re.M))
    comandos = set(re.findall(r"manage\.py (\w+)", texto))

    assert sorted(set(re.findall(r"\bmake ([a-z][\w-]*)", texto)) - alvos) == []
    assert {"migrate", "collectstatic", "criar_organizacao", "webhook_worker", "run_scheduled_tasks"} <= comandos
    assert sorted(comandos - set(get_commands())) == []
