"""Receptor de webhooks do fiscal: confere a assinatura, ignora entregas repetidas e guarda os eventos em SQLite.

    export FISCAL_WEBHOOK_SEGREDO='whsec_...'      # o segredo mostrado na criação do webhook
    python exemplos/webhook_receiver.py --porta 5000 --banco webhooks.sqlite3

Rotas:
    POST /webhook   a URL a cadastrar no fiscal (https://seu-servidor/webhook)
    GET  /          os eventos recebidos, do mais recente (JSON; HTML no navegador); ?evento=nfe_importada
    GET  /health    {"status": "ok"}

Em produção: `gunicorn -w 2 -b 127.0.0.1:5000 'webhook_receiver:criar_app()'` atrás de um proxy HTTPS
(veja exemplos/README.md).
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import sqlite3
import sys
from contextlib import closing
from datetime import datetime, UTC
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

# The client is one file at the repository root; copy it next to this file in your own project.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fiscal_api_client import AssinaturaInvalidaError, verificar_webhook

logger = logging.getLogger("webhook_receiver")

BANCO_PADRAO = "webhooks.sqlite3"
MAXIMO_CORPO_BYTES = 1024 * 1024  # the fiscal's events are a few KiB; anything bigger is not from it
LISTAGEM_MAXIMA = 500

ESQUEMA = """
CREATE TABLE IF NOT EXISTS eventos (
    webhook_id  TEXT PRIMARY KEY,   -- the event id: the same on every retry of the same event
    evento      TEXT NOT NULL,
    criado_em   TEXT,
    recebido_em TEXT NOT NULL,
    entregas    INTEGER NOT NULL DEFAULT 1,
    corpo       TEXT NOT NULL
)
"""


def criar_app(segredo: str | None = None, banco: str | None = None) -> Flask:
    """O app Flask; sem argumentos, lê FISCAL_WEBHOOK_SEGREDO e FISCAL_RECEPTOR_BANCO do ambiente."""
    segredo = segredo or os.environ.get("FISCAL_WEBHOOK_SEGREDO", "")
    banco = banco or os.environ.get("FISCAL_RECEPTOR_BANCO", BANCO_PADRAO)
    if not segredo:
        raise SystemExit("defina FISCAL_WEBHOOK_SEGREDO com o segredo do webhook (whsec_...)")
    exigir_segredo_valido(segredo)
    preparar_banco(banco)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAXIMO_CORPO_BYTES

    @app.post("/webhook")
    def receber():
        corpo = request.get_data()  # the exact bytes: the signature covers them, not a re-serialized JSON
        try:
            evento = verificar_webhook(segredo, request.headers, corpo)
        except AssinaturaInvalidaError as erro:
            logger.warning("entrega recusada: %s", erro)
            return jsonify(erro=str(erro)), 401
        webhook_id = request.headers["webhook-id"]
        novo = registrar(banco, webhook_id, evento, corpo)
        if novo:
            logger.info("evento %s (%s) recebido", webhook_id, evento.get("evento"))
        else:
            logger.info("evento %s repetido: ignorado", webhook_id)
        return jsonify(recebido=True, duplicado=not novo)

    @app.get("/")
    def listar():
        tipo = request.args.get("evento")
        eventos = listar_eventos(banco, tipo, _limite(request.args.get("limite")))
        # A browser asks for text/html first (and */* after it); curl and HTTP libraries send */*: JSON.
        if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
            return Response(_html(eventos, tipo), mimetype="text/html")
        return jsonify(eventos=eventos, total=len(eventos))

    @app.get("/health")
    def saude():
        return jsonify(status="ok")

    return app


def exigir_segredo_valido(segredo: str) -> None:
    """Falha na partida, não na primeira entrega, se o segredo não tem o formato whsec_ + base64."""
    try:
        verificar_webhook(segredo, {}, b"")
    except AssinaturaInvalidaError:
        pass  # the secret is fine; the empty delivery is not, as expected
    except ValueError as erro:
        raise SystemExit(f"FISCAL_WEBHOOK_SEGREDO inválido: {erro}") from None


# --- SQLite ----------------------------------------------------------------------------------------


def conectar(banco: str) -> sqlite3.Connection:
    # One connection per request: sqlite3 connections must not cross threads, and opening one is cheap.
    # Autocommit (isolation_level=None): transactions are the explicit BEGIN/COMMIT below.
    conexao = sqlite3.connect(banco, timeout=10, isolation_level=None)
    conexao.row_factory = sqlite3.Row
    return conexao


def preparar_banco(banco: str) -> None:
    with closing(conectar(banco)) as conexao:
        conexao.execute("PRAGMA journal_mode=WAL")  # several gunicorn workers write the same file
        conexao.execute(ESQUEMA)


def registrar(banco: str, webhook_id: str, evento: dict, corpo: bytes) -> bool:
    """Grava o evento; False se este webhook-id já tinha chegado (só conta a entrega repetida).

    Processe o evento dentro da mesma transação (em `processar`): se ele falhar, nada fica gravado,
    a resposta é 500 e o fiscal entrega de novo mais tarde.
    """
    agora = datetime.now(UTC).isoformat(timespec="seconds")
    conexao = conectar(banco)
    try:
        conexao.execute("BEGIN IMMEDIATE")  # two deliveries of the same event at once: one waits, then sees it
        inserido = conexao.execute(
            "INSERT OR IGNORE INTO eventos (webhook_id, evento, criado_em, recebido_em, corpo) VALUES (?, ?, ?, ?, ?)",
            (webhook_id, str(evento.get("evento", "")), evento.get("criado_em"), agora, corpo.decode("utf-8")),
        ).rowcount
        if inserido:
            processar(evento)
        else:
            conexao.execute("UPDATE eventos SET entregas = entregas + 1 WHERE webhook_id = ?", (webhook_id,))
        conexao.execute("COMMIT")
    except BaseException:
        if conexao.in_transaction:
            conexao.execute("ROLLBACK")
        raise
    finally:
        conexao.close()
    return bool(inserido)


def processar(evento: dict) -> None:
    """O lugar da sua integração (lançar a nota no ERP, baixar o XML...). Aqui, só um log."""
    dados = evento.get("dados") or {}
    logger.info("processando %s %s", evento.get("evento"), dados.get("chave", ""))


def listar_eventos(banco: str, tipo: str | None, limite: int) -> list[dict]:
    consulta = "SELECT * FROM eventos"
    argumentos: list = []
    if tipo:
        consulta += " WHERE evento = ?"
        argumentos.append(tipo)
    consulta += " ORDER BY recebido_em DESC, rowid DESC LIMIT ?"
    with closing(conectar(banco)) as conexao:
        linhas = conexao.execute(consulta, [*argumentos, limite]).fetchall()
    return [
        {
            "webhook_id": linha["webhook_id"], "evento": linha["evento"], "criado_em": linha["criado_em"],
            "recebido_em": linha["recebido_em"], "entregas": linha["entregas"],
            "dados": json.loads(linha["corpo"]).get("dados"),
        }
        for linha in linhas
    ]  # fmt: skip


def _limite(texto: str | None) -> int:
    try:
        return max(1, min(LISTAGEM_MAXIMA, int(texto or 100)))
    except ValueError:
        return 100


def _html(eventos: list[dict], tipo: str | None) -> str:
    """The page a browser gets: one row per event, newest first, reloaded every few seconds (unless a row's
    data is open)."""
    linhas = "".join(
        f"<tr><td>{html.escape(_hora_local(e['recebido_em']))}</td>"
        f"<td><a href='?{html.escape(urlencode({'evento': e['evento']}))}'>{html.escape(e['evento'])}</a></td>"
        f"<td>{html.escape(_resumo(e['dados']))}</td><td>{e['entregas']}</td>"
        f"<td><details><summary><code>{html.escape(e['webhook_id'])}</code></summary>"
        f"<pre>{html.escape(json.dumps(e['dados'], ensure_ascii=False, indent=2))}</pre></details></td></tr>"
        for e in eventos
    )
    if not eventos:
        linhas = "<tr><td colspan=5>Nenhum evento recebido ainda.</td></tr>"
    filtro = f" · só <b>{html.escape(tipo)}</b> (<a href='/'>ver todos</a>)" if tipo else ""
    return (
        "<!doctype html><meta charset=utf-8><title>Webhooks recebidos</title>"
        "<script>setInterval(() => document.querySelector('details[open]') || location.reload(), 5000)</script>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}pre{margin:0}</style>"
        f"<h1>Webhooks recebidos</h1><p>{len(eventos)} evento(s), do mais recente{filtro}; a página se atualiza"
        f" a cada 5 s. Em JSON: <code>curl {html.escape(request.base_url)}</code></p>"
        "<table><tr><th>Recebido em</th><th>Evento</th><th>Resumo</th><th>Entregas</th>"
        "<th>webhook-id (e os dados)</th></tr>"
        f"{linhas}</table>"
    )


def _hora_local(momento: str) -> str:
    try:
        return datetime.fromisoformat(momento).astimezone().strftime("%d/%m/%Y %H:%M:%S")
    except ValueError:
        return momento


def _resumo(dados: dict | None) -> str:
    """One line about the event: the document (number, issuer, key), the failed file, or the message."""
    dados = dados if isinstance(dados, dict) else {}
    if dados.get("chave") and dados.get("numero") is not None:
        emitente = dados.get("emitente")
        emitente = emitente.get("nome") or "" if isinstance(emitente, dict) else ""
        return " · ".join(str(p) for p in (f"nº {dados['numero']}", emitente, dados["chave"]) if p)
    for campo in ("mensagem", "arquivo", "chave"):
        if dados.get(campo):
            return str(dados[campo])
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description="Receptor de webhooks do fiscal (Flask + SQLite).")
    parser.add_argument("--host", default=os.environ.get("FISCAL_RECEPTOR_HOST", "127.0.0.1"))
    parser.add_argument("--porta", type=int, default=int(os.environ.get("FISCAL_RECEPTOR_PORTA", "5000")))
    parser.add_argument("--banco", default=os.environ.get("FISCAL_RECEPTOR_BANCO", BANCO_PADRAO))
    argumentos = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per event (above), not one per request: the access log of the development server would
    # bury them (gunicorn has its own, --access-logfile).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = criar_app(banco=argumentos.banco)
    logger.info("recebendo em http://%s:%s/webhook (banco %s)", argumentos.host, argumentos.porta, argumentos.banco)
    app.run(host=argumentos.host, port=argumentos.porta, threaded=True)


if __name__ == "__main__":
    main()
