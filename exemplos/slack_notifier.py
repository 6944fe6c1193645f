"""Recebe os webhooks do fiscal, confere a assinatura e avisa um canal do Slack (incoming webhook).

    export FISCAL_WEBHOOK_SEGREDO='whsec_...'
    export SLACK_WEBHOOK_URL='https://hooks.slack.com/services/T000/B000/XXXX'
    python exemplos/slack_notifier.py --porta 5001

Rotas:
    POST /webhook   a URL a cadastrar no fiscal
    GET  /health    {"status": "ok", ...}

Cada evento vira uma mensagem com a cor do tipo (verde NF-e, azul CT-e, vermelho erro ou cancelamento,
amarelo certificado vencendo), os campos principais e um link para o documento. Uma importação grande
não vira centenas de mensagens: os eventos que chegam juntos (sem uma pausa de FISCAL_SLACK_JANELA_SEGUNDOS
entre um e outro) formam um lote; um tipo de evento com FISCAL_SLACK_LIMITE_LOTE ou mais eventos no lote
vira uma mensagem só, com a quantidade e o valor total; abaixo disso, uma mensagem por documento.

Cada entrega é respondida na hora (200) e a mensagem sai quando o lote fecha. Se o Slack falhar, o
notificador tenta de novo sozinho (espera crescente, até 5 minutos entre tentativas) enquanto estiver
no ar; uma entrega repetida (mesmo `webhook-id`) não é postada de novo.

Variáveis opcionais: FISCAL_LINK_DOCUMENTO, um modelo de link com {chave} e {tipo} (nfe ou cte), por
exemplo `https://fiscal.suaempresa.com.br/admin/core/{tipo}/?q={chave}`; sem ele, o link é o da API
que vem no evento (`dados.links.detalhe`). FISCAL_SLACK_JANELA_SEGUNDOS (padrão 3) e
FISCAL_SLACK_LIMITE_LOTE (padrão 5), acima.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import requests
from flask import Flask, jsonify, request

# The client is one file at the repository root; copy it next to this file in your own project.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fiscal_api_client import AssinaturaInvalidaError, verificar_webhook

logger = logging.getLogger("slack_notifier")

MAXIMO_CORPO_BYTES = 1024 * 1024
TIMEOUT_SLACK_SEGUNDOS = 10
IDS_LEMBRADOS = 10_000
JANELA_SEGUNDOS = 3.0  # a pause this long between deliveries closes a batch
JANELA_MAXIMA_SEGUNDOS = 60.0  # a batch that never pauses is still posted this often
LIMITE_LOTE = 5  # events of one type in a batch from which they become one summary message
ESPERA_MAXIMA_SLACK_SEGUNDOS = 300.0

CORES = {
    "nfe_importada": "#2EB67D",  # green
    "cte_importado": "#1D9BD1",  # blue
    "documento_atualizado": "#ECB22E",  # amber (red when cancelled, below)
    "erro_importacao": "#E01E5A",  # red
    "consulta_concluida": "#6B7280",  # grey
    "certificado_vencendo": "#F2952F",  # orange
    "teste": "#9CA3AF",
}
COR_CANCELADA = "#E01E5A"
TITULOS = {
    "nfe_importada": "NF-e recebida",
    "cte_importado": "CT-e recebido",
    "documento_atualizado": "Documento atualizado",
    "erro_importacao": "Erro de importação",
    "consulta_concluida": "Consulta à SEFAZ concluída",
    "certificado_vencendo": "Certificado A1 vencendo",
    "teste": "Teste do fiscal",
}
TITULOS_DO_LOTE = {  # "<n> NF-e recebidas"
    "nfe_importada": "NF-e recebidas",
    "cte_importado": "CT-e recebidos",
    "documento_atualizado": "documentos atualizados",
    "erro_importacao": "erros de importação",
}
MOTIVOS = {
    "xml_completo": "XML completo recebido",
    "protocolo": "protocolo de autorização anexado",
    "cancelada": "cancelado",
    "evento": "novo evento fiscal",
}


class IdsVistos:
    """The last IDS_LEMBRADOS webhook-ids already posted, in memory (one process; see the README)."""

    def __init__(self, limite: int = IDS_LEMBRADOS):
        self.limite, self.ids, self.trava = limite, OrderedDict(), threading.Lock()

    def __contains__(self, webhook_id: str) -> bool:
        with self.trava:
            return webhook_id in self.ids

    def adicionar(self, webhook_id: str) -> None:
        with self.trava:
            self.ids[webhook_id] = True
            while len(self.ids) > self.limite:
                self.ids.popitem(last=False)


class Agrupador:
    """Collects the events that arrive together and posts them when the batch closes, in a thread.

    Why a pause closes the batch: the fiscal delivers an import's events one after another, a few ms
    apart; the events carry no batch id and no batch size, so the quiet after them is the only sign
    that the import ended. The deliveries were already answered 200, so a Slack failure is retried
    here (in memory: a notifier stopped with messages pending loses them, and says so in its log).
    """

    def __init__(self, postar_mensagem, link_documento: str, janela: float, limite: int):
        self.postar_mensagem, self.link_documento, self.janela, self.limite = postar_mensagem, link_documento, janela, limite
        self.eventos: list[dict] = []
        self.primeiro = self.ultimo = 0.0
        self.postados = 0
        self.condicao = threading.Condition()
        threading.Thread(target=self._rodar, name="slack-agrupador", daemon=True).start()

    def adicionar(self, evento: dict) -> None:
        with self.condicao:
            if not self.eventos:
                self.primeiro = time.monotonic()
            self.eventos.append(evento)
            self.ultimo = time.monotonic()
            self.condicao.notify()

    def _rodar(self) -> None:
        while True:
            lote = self._esperar_lote()
            for corpo, quantos in mensagens_do_lote(lote, self.limite, self.link_documento):
                self._postar_ate_conseguir(corpo)
                with self.condicao:
                    self.postados += quantos

    def _esperar_lote(self) -> list[dict]:
        with self.condicao:
            while True:
                if self.eventos:
                    agora = time.monotonic()
                    fecha_em = min(self.ultimo + self.janela, self.primeiro + JANELA_MAXIMA_SEGUNDOS)
                    if agora >= fecha_em:
                        lote, self.eventos = self.eventos, []
                        return lote
                    self.condicao.wait(fecha_em - agora)
                else:
                    self.condicao.wait()

    def _postar_ate_conseguir(self, corpo: dict) -> None:
        espera = 1.0
        while falha := self.postar_mensagem(corpo):
            logger.error("Slack não aceitou a mensagem: %s; nova tentativa em %.0f s", falha, espera)
            time.sleep(espera)
            espera = min(espera * 2, ESPERA_MAXIMA_SLACK_SEGUNDOS)


def criar_app(segredo: str | None = None, slack_url: str | None = None, link_documento: str | None = None) -> Flask:
    """O app Flask; sem argumentos, lê FISCAL_WEBHOOK_SEGREDO, SLACK_WEBHOOK_URL, FISCAL_LINK_DOCUMENTO,
    FISCAL_SLACK_JANELA_SEGUNDOS e FISCAL_SLACK_LIMITE_LOTE."""
    segredo = segredo or os.environ.get("FISCAL_WEBHOOK_SEGREDO", "")
    slack_url = slack_url or os.environ.get("SLACK_WEBHOOK_URL", "")
    link_documento = link_documento or os.environ.get("FISCAL_LINK_DOCUMENTO", "")
    if not segredo or not slack_url:
        raise SystemExit("defina FISCAL_WEBHOOK_SEGREDO (whsec_...) e SLACK_WEBHOOK_URL")
    janela = float(os.environ.get("FISCAL_SLACK_JANELA_SEGUNDOS", JANELA_SEGUNDOS))
    limite = int(os.environ.get("FISCAL_SLACK_LIMITE_LOTE", LIMITE_LOTE))
    vistos, slack = IdsVistos(), requests.Session()
    agrupador = Agrupador(lambda corpo: postar(slack, slack_url, corpo), link_documento, janela, limite)
    # Two deliveries of the same event at once must not both be queued.
    recebendo = threading.Lock()

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAXIMO_CORPO_BYTES

    @app.post("/webhook")
    def receber():
        try:
            evento = verificar_webhook(segredo, request.headers, request.get_data())
        except AssinaturaInvalidaError as erro:
            logger.warning("entrega recusada: %s", erro)
            return jsonify(erro=str(erro)), 401
        webhook_id = request.headers["webhook-id"]
        with recebendo:
            if webhook_id in vistos:
                return jsonify(recebido=True, duplicado=True)
            vistos.adicionar(webhook_id)
            agrupador.adicionar(evento)
        logger.info("evento %s (%s) recebido", webhook_id, evento.get("evento"))
        return jsonify(recebido=True, duplicado=False)

    @app.get("/health")
    def saude():
        with agrupador.condicao:
            return jsonify(status="ok", eventos_recebidos=len(vistos.ids), eventos_postados=agrupador.postados,
                           eventos_aguardando=len(agrupador.eventos))  # fmt: skip

    return app


def postar(slack: requests.Session, url: str, corpo: dict) -> str:
    """Posta no Slack; devolve o motivo da falha, ou "" se deu certo.

    O motivo nunca traz a URL: ela é o segredo do canal (quem a tem posta nele).
    """
    try:
        resposta = slack.post(url, json=corpo, timeout=TIMEOUT_SLACK_SEGUNDOS, allow_redirects=False)
    except requests.RequestException as erro:
        return type(erro).__name__
    if not 200 <= resposta.status_code < 300:
        return f"HTTP {resposta.status_code} {resposta.text[:100]}"
    return ""


# --- Formatação -------------------------------------------------------------------------------------


def mensagens_do_lote(lote: list[dict], limite: int, link_documento: str = "") -> list[tuple[dict, int]]:
    """(message, events it covers) for a closed batch: per event type, in order of arrival, one summary
    when the type has `limite` events or more, one message per event below that."""
    por_tipo: dict[str, list[dict]] = {}
    for evento in lote:
        por_tipo.setdefault(str(evento.get("evento", "")), []).append(evento)
    mensagens = []
    for tipo, eventos in por_tipo.items():
        if len(eventos) >= limite:
            mensagens.append((resumo_do_lote(tipo, eventos), len(eventos)))
        else:
            mensagens += [(mensagem(evento, link_documento), 1) for evento in eventos]
    return mensagens


def resumo_do_lote(tipo: str, eventos: list[dict]) -> dict:
    """One message for many events of a type: how many, and the total value when they are documents."""
    titulo = f"{len(eventos)} {TITULOS_DO_LOTE.get(tipo, f'eventos {tipo}')}"
    valores = [_valor(evento.get("dados") or {}) for evento in eventos]
    total = sum((v for v in valores if v is not None), Decimal(0))
    texto = f"*{titulo}*"
    campos = [{"title": "Quantidade", "value": str(len(eventos)), "short": True}]
    if any(v is not None for v in valores):
        texto += f" — total {_reais(total)}"
        campos.append({"title": "Valor total", "value": _reais(total), "short": True})
    emitentes = {((evento.get("dados") or {}).get("emitente") or {}).get("nome") for evento in eventos} - {None, ""}
    if emitentes:
        campos.append({"title": "Emitentes", "value": str(len(emitentes)), "short": True})
    anexo = {"color": CORES.get(tipo, "#9CA3AF"), "title": titulo, "fields": campos, "fallback": texto.replace("*", ""),
             "footer": f"fiscal · {eventos[0].get('id', '')} … {eventos[-1].get('id', '')}"}  # fmt: skip
    return {"text": texto, "attachments": [anexo]}


def _valor(dados: dict) -> Decimal | None:
    valores = dados.get("valores") or {}
    valor = valores.get("total", valores.get("prestacao"))
    try:
        return Decimal(str(valor)) if valor is not None else None
    except (InvalidOperation, ValueError):
        return None


def mensagem(evento: dict, link_documento: str = "") -> dict:
    """A mensagem do Slack (incoming webhook) de um evento: texto, cor, campos e link."""
    tipo = str(evento.get("evento", ""))
    dados = evento.get("dados") or {}
    titulo = TITULOS.get(tipo, tipo)
    anexo = {
        "color": _cor(tipo, dados),
        "title": titulo,
        "fields": _campos(tipo, dados),
        "footer": f"fiscal · {evento.get('id', '')}",
    }
    link = _link(dados, link_documento)
    if link:
        anexo["title_link"] = link
    resumo = _resumo(tipo, dados)
    anexo["fallback"] = f"{titulo}: {resumo}" if resumo else titulo
    return {"text": f"*{titulo}*" + (f" — {resumo}" if resumo else ""), "attachments": [anexo]}


def _cor(tipo: str, dados: dict) -> str:
    if dados.get("situacao") == "cancelada":
        return COR_CANCELADA
    return CORES.get(tipo, "#9CA3AF")


def _resumo(tipo: str, dados: dict) -> str:
    if "chave" in dados and "numero" in dados:
        nome = "CT-e" if str(dados.get("modelo")) in ("57", "67") else "NF-e"
        emitente = (dados.get("emitente") or {}).get("nome", "")
        return f"{nome} {dados['numero']} de {emitente}".strip()
    if tipo == "erro_importacao":
        return str(dados.get("arquivo", ""))
    if tipo == "certificado_vencendo":
        return f"{dados.get('titular', '')} vence em {dados.get('dias')} dia(s)"
    if tipo == "consulta_concluida":
        return f"{dados.get('importados', 0)} documento(s) importado(s)"
    return str(dados.get("mensagem", ""))


def _campos(tipo: str, dados: dict) -> list[dict]:
    campos: list[tuple[str, str, bool]] = []
    if "chave" in dados and "emitente" in dados:
        valores = dados.get("valores") or {}
        valor = valores.get("total", valores.get("prestacao"))
        campos += [
            ("Número/Série", f"{dados.get('numero')}/{dados.get('serie')}", True),
            ("Valor", _reais(valor), True),
            ("Emitente", _parte(dados.get("emitente")), True),
            ("Destinatário", _parte(dados.get("destinatario")), True),
            ("Situação", str(dados.get("situacao", "")), True),
            ("Emissão", str(dados.get("data_emissao", ""))[:10], True),
        ]
        # Reforma Tributária: IBS e CBS quando o documento os traz (null quando não tem o grupo), e a
        # finalidade quando não é uma operação normal (nota de crédito, débito ou devolução).
        if valores.get("ibs") is not None or valores.get("cbs") is not None:
            campos.append(("IBS / CBS", f"{_reais(valores.get('ibs'))} / {_reais(valores.get('cbs'))}", True))
        if dados.get("finalidade") not in (None, 1):
            campos.append(("Finalidade", str(dados.get("finalidade_nome", "")), True))
        if tipo == "documento_atualizado":
            campos.append(("Motivo", MOTIVOS.get(dados.get("motivo"), str(dados.get("motivo", ""))), True))
        campos.append(("Chave", f"`{dados['chave']}`", False))
    elif tipo == "erro_importacao":
        campos += [("Arquivo", str(dados.get("arquivo", "")), True), ("Origem", str(dados.get("origem", "")), True),
                   ("Mensagem", str(dados.get("mensagem", "")), False)]  # fmt: skip
        if dados.get("chave"):
            campos.append(("Chave", f"`{dados['chave']}`", False))
    elif tipo == "consulta_concluida":
        campos += [("Certificado", str(dados.get("certificado", "")), True),
                   ("Documentos", str(dados.get("documentos", 0)), True),
                   ("Importados", str(dados.get("importados", 0)), True)]  # fmt: skip
        for servico in dados.get("servicos") or []:
            campos.append(
                (f"Serviço {servico.get('servico')}", f"{servico.get('situacao')} (cStat {servico.get('cstat')})", True)
            )
    elif tipo == "certificado_vencendo":
        campos += [
            ("Titular", str(dados.get("titular", "")), True), ("CNPJ", _cnpj(dados.get("certificado")), True),
            ("Vence em", str(dados.get("validade_fim", "")), True), ("Dias", str(dados.get("dias", "")), True),
        ]  # fmt: skip
    elif dados:
        campos += [(str(nome), str(valor), True) for nome, valor in list(dados.items())[:10]]
    return [{"title": titulo, "value": valor, "short": curto} for titulo, valor, curto in campos if valor]


def _link(dados: dict, modelo: str) -> str:
    chave = dados.get("chave")
    if modelo and chave:
        tipo = "cte" if str(dados.get("modelo")) in ("57", "67") else "nfe"
        return modelo.format(chave=chave, tipo=tipo)
    return str((dados.get("links") or {}).get("detalhe", ""))


def _parte(parte: dict | None) -> str:
    if not parte:
        return ""
    return f"{parte.get('nome', '')} ({_cnpj(parte.get('documento'))})".strip()


def _cnpj(documento: str | None) -> str:
    d = str(documento or "")
    if len(d) == 14:
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
    if len(d) == 11:
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    return d


def _reais(valor: str | None) -> str:
    """'1520.00' -> 'R$ 1.520,00'."""
    try:
        numero = Decimal(str(valor))
    except (InvalidOperation, ValueError):
        return ""
    texto = f"{numero:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {texto}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Notificações do fiscal no Slack.")
    parser.add_argument("--host", default=os.environ.get("FISCAL_SLACK_HOST", "127.0.0.1"))
    parser.add_argument("--porta", type=int, default=int(os.environ.get("FISCAL_SLACK_PORTA", "5001")))
    argumentos = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = criar_app()
    logger.info("recebendo em http://%s:%s/webhook", argumentos.host, argumentos.porta)
    app.run(host=argumentos.host, port=argumentos.porta, threaded=True)


if __name__ == "__main__":
    main()
