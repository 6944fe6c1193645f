"""Every snippet marked `<!-- executar -->` in the integration docs runs, as written, against a live server.

A file's bash blocks run in order in one shell (later blocks use what earlier ones exported, as a reader
following the guide would; in the quick start each block after the first runs as in a new terminal, with
none of the earlier blocks' variables nor FISCAL_URL and TOKEN), from a scratch folder that looks like the repository (its top-level entries
are linked there, so files the snippets download land in the scratch folder). Its Python blocks then run
each in a fresh interpreter with the environment the shell ended with. Each `<!-- resposta -->` example
is compared with what the bash block above it printed. Background processes a guide starts (the example
receiver) are killed at the end.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from datetime import UTC

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from standardwebhooks.webhooks import Webhook as StandardWebhook

from core.demo import documentos_demo
from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_nfe
from core.models import NFe, Origem, Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks import entrega
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import entregar_pendentes
from tests.documentacao import (
    DOCUMENTOS,
    RAIZ,
    blocos,
    diferencas,
    documentos_json,
    executaveis,
    respostas_documentadas,
    trechos_sem_marcador,
    ultimo_json,
)
from tests.webhooks.receptor import Receptor, porta_livre

SEPARADOR = "@@fim-do-bloco@@"
# Guides whose steps must each run in a new terminal (issue 15: step 5 of the quick start crashed with
# KeyError: 'FISCAL_WEBHOOK_SEGREDO' there). Between blocks the shell forgets every variable it did not
# start with, and FISCAL_URL and TOKEN, which only the first terminal has.
CADA_BLOCO_NUM_TERMINAL_NOVO = {"INICIO_RAPIDO_INTEGRACOES.md"}
_INICIAIS = '__iniciais=" $(compgen -v | tr "\\n" " ") __iniciais __v "'
_TERMINAL_NOVO = (
    'for __v in $(compgen -v); do case "$__iniciais" in *" $__v "*) ;; *) unset "$__v" 2>/dev/null || true;; esac; done\n'
    "unset FISCAL_URL TOKEN\n"
)


def test_the_quickstart_has_runnable_snippets():
    tipos = [b.linguagem for b in blocos("INICIO_RAPIDO_INTEGRACOES.md") if b.marcador == "executar"]
    assert tipos.count("bash") >= 3 and "python" in tipos


@pytest.mark.parametrize("documento", DOCUMENTOS)
def test_every_curl_and_python_snippet_is_marked_runnable(documento):
    assert trechos_sem_marcador(documento) == []


def test_the_reference_has_a_runnable_example_of_every_api_route():
    """Each route of api/urls.py has a runnable example in INTEGRACOES.md (schema and docs pages aside)."""
    texto = "\n".join(b.codigo for b in executaveis("INTEGRACOES.md", "bash"))
    rotas = _rotas_da_api(get_resolver())
    sem_exemplo = [r for r in rotas if not _exemplo_da_rota(r, texto)]
    assert sem_exemplo == []
    assert len(respostas_documentadas("INTEGRACOES.md")) >= 25


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl e jq são necessários")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("documento", [d for d in DOCUMENTOS if executaveis(d, "bash") or executaveis(d, "python")])
def test_marked_snippets_run_against_a_live_server(documento, live_server, nova_org, tmp_path, settings, request):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the guides' receivers run on this machine, as with `make run`
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # in-memory SQLite: delivered by the requests themselves or below
    pasta = _pasta_como_o_repositorio(tmp_path)
    ambiente = {
        **os.environ, "FISCAL_URL": live_server.url, "TOKEN": nova_org.token,
        "FISCAL_RECEPTOR_PORTA": str(porta_livre()), "FISCAL_RECEPTOR_BANCO": str(tmp_path / "webhooks.sqlite3"),
        "PYTHONPATH": str(RAIZ),
    }  # fmt: skip
    conferir = PREPARACOES.get(documento, lambda *_: None)(request, nova_org, ambiente, pasta)

    saidas = _rodar_bash(documento, pasta, ambiente, tmp_path)
    problemas = []
    for indice, resposta in respostas_documentadas(documento):
        real = ultimo_json(saidas[indice])
        assert real is not None, f"{documento}, {resposta.onde}: o bloco acima não imprimiu JSON:\n{saidas[indice]}"
        problemas += [f"{resposta.onde}: {d}" for d in diferencas(json.loads(resposta.codigo), real, "parcial" in resposta.marcador)]
    assert problemas == [], f"{documento}: exemplos de resposta diferentes da resposta real"

    exportado, impressos = _ambiente_final(tmp_path), []
    for bloco in executaveis(documento, "python"):
        execucao = subprocess.run([sys.executable, "-c", bloco.codigo], cwd=pasta, env=exportado, capture_output=True,
                                  text=True, timeout=60)  # fmt: skip
        assert execucao.returncode == 0, f"{documento}, {bloco.onde}:\n{bloco.codigo}\n{execucao.stderr}"
        impressos.append(execucao.stdout)
    if conferir:
        conferir(saidas, impressos)


def _rodar_bash(documento, pasta, ambiente, tmp_path) -> list[str]:
    """Runs the file's bash blocks in one shell; returns what each one printed."""
    novo_terminal = _TERMINAL_NOVO if documento in CADA_BLOCO_NUM_TERMINAL_NOVO else ""
    corpo = "".join(
        f"{novo_terminal if indice else ''}{b.codigo}\nprintf '\\n{SEPARADOR}\\n'\n"
        for indice, b in enumerate(executaveis(documento, "bash"))
    )
    # Whatever the guide started in the background is killed with the shell's process group.
    roteiro = (f"set -euo pipefail\ncd {pasta}\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{_INICIAIS}\n{corpo}"
               f"env -0 > {tmp_path}/ambiente")  # fmt: skip
    processo = subprocess.Popen(["bash", "-c", roteiro], cwd=tmp_path, env=ambiente, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        saida, erros = processo.communicate(timeout=180)
    finally:
        if processo.poll() is None:
            os.killpg(processo.pid, signal.SIGKILL)
    (tmp_path / "saida.txt").write_text(saida)
    assert processo.returncode == 0, f"{documento}:\n{erros}\n{saida}"
    return saida.split(f"\n{SEPARADOR}\n")


def _ambiente_final(tmp_path) -> dict:
    return dict(v.split("=", 1) for v in (tmp_path / "ambiente").read_text().split("\0") if "=" in v)


def _pasta_como_o_repositorio(tmp_path):
    pasta = tmp_path / "fiscal"
    pasta.mkdir()
    for entrada in RAIZ.iterdir():
        if entrada.name not in (".git", "db.sqlite3", "var"):
            (pasta / entrada.name).symlink_to(entrada)
    return pasta


def _preparar_inicio_rapido(request, nova_org, ambiente, pasta):
    """As under `make run`, each webhook delivery starts right after its commit; here in the committing
    thread rather than a new one, because the tests' in-memory SQLite cannot take a second writer."""
    request.getfixturevalue("settings").WEBHOOK_ENTREGA_IMEDIATA = True
    request.getfixturevalue("monkeypatch").setattr(
        entrega, "iniciar_entrega_em_segundo_plano", lambda ids: entrega.entregar_pendentes(limite=len(ids or ()) or 100, ids=ids)
    )

    def conferir(saidas, impressos):
        texto = "".join(saidas)
        # The guide's promise: a verified webhook reached the example receiver...
        assert '"sucesso": true' in texto and '"evento": "teste"' in texto
        # ...then the note it generated was imported and arrived there under the same key.
        [importacao] = [saida for bloco, saida in zip(executaveis("INICIO_RAPIDO_INTEGRACOES.md", "bash"), saidas, strict=False)
                        if "gerar_nfe_exemplo" in bloco.codigo]  # fmt: skip
        importada, recebida = documentos_json(importacao)
        chave = importada["chave"]
        assert importada == {"status": "sucesso", "mensagem": "NF-e importada", "chave": chave}
        assert recebida == {"evento": "nfe_importada", "chave": chave}
        assert escopo(NFe, nova_org.organizacao).filter(chave=chave).exists()
        assert not escopo(WebhookLog, nova_org.organizacao).exclude(status="sucesso").exists()  # every delivery verified
        with sqlite3.connect(ambiente["FISCAL_RECEPTOR_BANCO"]) as conexao:
            recebidos = conexao.execute("SELECT evento, entregas FROM eventos ORDER BY rowid").fetchall()
        assert recebidos == [("teste", 1), ("nfe_importada", 1), ("nfe_importada", 1)]  # the last one by hand
        # The client snippet sees the new note and the guide's webhook.
        assert chave in impressos[0] and "Receptor local" in impressos[0]

    return conferir


def _preparar_integracoes(request, nova_org, ambiente, pasta):
    """The reference's examples act on a real account: the demo documents, a receiver, a SEFAZ, an A1."""
    organizacao = nova_org.organizacao
    list(importar(organizacao=organizacao, entradas=[Entrada(n, x) for n, x in documentos_demo()], origem=Origem.UPLOAD))
    simulador, a1 = request.getfixturevalue("sim"), request.getfixturevalue("a1_destinatario")
    emissor = request.getfixturevalue("emissor")
    # At SEFAZ, one NF-e addressed to the company: the reference's query brings its summary.
    simulador.publicar_para_destinatario(a1.documento, gerar_nfe(certificado=emissor, destinatario_documento=a1.documento))
    (pasta / "empresa.pfx").write_bytes(a1.pfx(b"senha-do-certificado"))
    receptor = Receptor()
    request.addfinalizer(receptor.fechar)
    request.getfixturevalue("settings").FISCAL_EVENTOS_ATRASO_SEGUNDOS = 0  # the feed example reads events made a moment ago
    ambiente.update(WEBHOOK_URL=receptor.url, CERTIFICADO_PFX="empresa.pfx", CERTIFICADO_SENHA="senha-do-certificado")

    def conferir(saidas, impressos):
        entregar_pendentes(limite=100)
        webhook = escopo(Webhook, organizacao).get(nome="ERP")
        assert webhook.segredo_anterior and webhook.segredo != webhook.segredo_anterior  # rotated by the examples
        assert receptor.recebidos, "nenhuma entrega chegou ao receptor"
        for corpo, cabecalhos in receptor.recebidos:
            StandardWebhook(webhook.segredo_anterior).verify(corpo, cabecalhos)
        eventos = {json.loads(corpo)["evento"] for corpo, _ in receptor.recebidos}
        assert {"teste", "nfe_importada"} <= eventos
        # Delivered by the worker after the rotation: signed with both secrets during the overlap.
        for corpo, cabecalhos in receptor.recebidos:
            if json.loads(corpo)["evento"] == "nfe_importada":
                StandardWebhook(webhook.segredo).verify(corpo, cabecalhos)

    return conferir


PREPARACOES = {"INICIO_RAPIDO_INTEGRACOES.md": _preparar_inicio_rapido, "INTEGRACOES.md": _preparar_integracoes}


def _rotas_da_api(resolver, prefixo="") -> list[str]:
    rotas = []
    for padrao in resolver.url_patterns:
        texto = prefixo + str(padrao.pattern)
        if isinstance(padrao, URLResolver):
            rotas += _rotas_da_api(padrao, texto)
        elif isinstance(padrao, URLPattern) and texto.startswith("api/"):
            rotas.append(texto)
    ignoradas = ("api/schema/", "api/docs/", "api/auth/")
    limpas = {_rota_legivel(r) for r in rotas}
    # The router's index and its `.json` format suffixes are not routes an integrator uses.
    return sorted(r for r in limpas if r not in ("api/", "api/{}") and not r.startswith(ignoradas) and "\\." not in r)


def _rota_legivel(rota: str) -> str:
    """`api/^webhooks/(?P<pk>[^/.]+)/testar/$` → `api/webhooks/{}/testar/`."""
    return re.sub(r"\(\?P<\w+>[^)]*\)|<[\w:]+>", "{}", rota).replace("^", "").replace("$", "")


def _exemplo_da_rota(rota: str, texto: str) -> bool:
    padrao = re.escape("/" + rota).replace(re.escape("{}"), r"[^/\s\"']+")
    return re.search(padrao + r"(?:[?\"'\s]|$)", texto) is not None


@pytest.mark.parametrize(
    "documento, variavel, rota",
    [("INICIO_RAPIDO_INTEGRACOES.md", "FISCAL_WEBHOOK_SEGREDO", "/webhook"),
     ("INTEGRACOES.md", "WEBHOOK_SEGREDO", "/webhooks/fiscal")],
)  # fmt: skip
def test_the_docs_flask_receivers_accept_a_signed_delivery_and_refuse_a_forged_one(
    documento, variavel, rota, tmp_path, monkeypatch
):
    # given: the doc's receiver snippet saved as a module, with a webhook secret in the environment
    [receptor] = [b.codigo for b in executaveis(documento, "python") if "Flask(" in b.codigo]
    (tmp_path / "meu_receptor.py").write_text(receptor)
    segredo = gerar_segredo()
    monkeypatch.setenv(variavel, segredo)
    monkeypatch.syspath_prepend(str(RAIZ))
    especificacao = importlib.util.spec_from_file_location("meu_receptor", tmp_path / "meu_receptor.py")
    modulo = importlib.util.module_from_spec(especificacao)
    especificacao.loader.exec_module(modulo)
    cliente = modulo.app.test_client()

    # when: a delivery signed as the fiscal signs it, then the same with the body changed
    evento = json.dumps({"id": "evt_1", "evento": "nfe_importada", "dados": {"chave": "1" * 44}})
    assinatura = StandardWebhook(segredo).sign("evt_1", datetime.now(UTC), evento)
    cabecalhos = {"webhook-id": "evt_1", "webhook-timestamp": str(int(time.time())), "webhook-signature": assinatura}

    # then
    assert cliente.post(rota, data=evento, headers=cabecalhos).status_code == 204
    assert cliente.post(rota, data=evento.replace("1" * 44, "0" * 44), headers=cabecalhos).status_code == 401


# --- The checker itself ----------------------------------------------------------------------------


def test_a_renamed_missing_or_retyped_field_is_reported():
    documentado = {"id": 1, "nome": "ERP", "eventos": ["nfe_importada"], "links": {"xml": "..."}}
    real = {"id": 7, "titulo": "ERP", "eventos": "nfe_importada", "links": {"xml": "...", "danfe": "..."}}
    assert sorted(diferencas(documentado, real)) == [
        "$.eventos: documentado como lista, veio texto",
        "$.links.danfe: veio na resposta, mas não está documentado",
        "$.nome: documentado, mas não veio na resposta",
        "$.titulo: veio na resposta, mas não está documentado",
    ]
    assert sorted(diferencas(documentado, real, parcial=True)) == [
        "$.eventos: documentado como lista, veio texto", "$.nome: documentado, mas não veio na resposta"
    ]


def test_list_items_match_any_real_item_and_null_matches_anything():
    documentado = {"eventos": [{"evento": "teste", "dados": {"mensagem": "oi"}}], "proxima": None}
    real = {"eventos": [{"evento": "nfe_importada", "dados": {"chave": "1"}}, {"evento": "teste", "dados": {"mensagem": "x"}}],
            "proxima": "2026-11-29T10:00:00Z"}  # fmt: skip
    assert diferencas(documentado, real) == []
    assert diferencas(documentado, {"eventos": [], "proxima": None}) == ["$.eventos: o exemplo mostra itens, a resposta veio vazia"]


def test_the_last_json_document_printed_is_the_response():
    assert ultimo_json('204\n{"a": 1}\nalgo [texto] {"b": [1, 2]}\n') == {"b": [1, 2]}
    assert ultimo_json("nada aqui") is None


def test_an_unmarked_curl_or_python_snippet_is_found(tmp_path, monkeypatch):
    import tests.documentacao as documentacao

    (tmp_path / "X.md").write_text(
        "<!-- executar -->\n```bash\ncurl -s a\n```\n\n```bash\ncurl -s b\n```\n\n```bash\nmake run\n```\n"
        "\n```python\nprint(1)\n```\n"
    )
    monkeypatch.setattr(documentacao, "RAIZ", tmp_path)
    assert documentacao.trechos_sem_marcador("X.md") == ["X.md, linha 6: curl -s b", "X.md, linha 14: print(1)"]
