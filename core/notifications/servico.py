"""NotificationService: one method per e-mail the product sends, each rendering HTML + text.

Every method takes the recipient and the subject of the notification, and returns True when an
e-mail went out. It sends nothing (False) when the user is inactive or has no address, when they
turned that notification off, or when the object belongs to another organization than theirs. A
failing e-mail backend is logged and answered with False, or, with `levantar=True` (the queue's
sender, core/notifications/envio.py, which retries), raised.

The product never calls it from a request or an import: they queue `EnvioEmail` rows
(core/notifications/fila.py) and the sender calls it, outside any transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.documentos.manifestacao_estado import dias_restantes
from core.eventos.documentos import dados_do_documento, dados_do_erro
from core.models import CTe, EstadoManifestacao, ImportLog, NFe, PreferenciaNotificacao
from core.tenancy import SemOrganizacao
from core.webhooks.rede import url_segura

from . import formatacao as fmt
from .grafico import barras_por_dia
from .preferencias import pode_receber_email, preferencias_de
from .resumo import ResumoImportacao

logger = logging.getLogger(__name__)

CAMINHO_PREFERENCIAS = "/api/notificacoes/preferencias/"
LIMITE_LISTA_PRAZOS = 20  # NF-e listed in one deadline e-mail; the rest are counted


class NotificationService:
    """Renders and sends the e-mail notifications.

    `preferencias` ({user id: PreferenciaNotificacao}) lets a caller that notifies many users load
    their choices in one query (`preferencias.destinatarios`); users missing from it are looked up.
    Use `with servico.conexao():` to send many e-mails over one connection to the mail server.
    """

    def __init__(self, *, preferencias: Mapping[int, PreferenciaNotificacao] | None = None, conexao=None,
                 levantar: bool = False):  # fmt: skip
        self._preferencias = dict(preferencias or {})
        self._conexao = conexao
        self._levantar = levantar  # the e-mail queue (envio.py) must see a failing backend to retry

    # -- the notifications -------------------------------------------------------------------

    def notificar_nfe_importada(self, usuario, nfe) -> bool:
        """`nfe`: an NFe, or its event summary (`dados_do_documento`, the `dados` of an Evento)."""
        return self._documento(usuario, nfe, "nfe_importada", "importada")

    def notificar_cte_importado(self, usuario, cte) -> bool:
        """`cte`: a CTe, or its event summary (`dados_do_documento`, the `dados` of an Evento)."""
        return self._documento(usuario, cte, "cte_importado", "importado")

    def notificar_erro_importacao(self, usuario, erro_info) -> bool:
        """`erro_info`: an ImportLog, an import Resultado, or a mapping with arquivo, mensagem, chave, tipo_xml."""
        erro = fmt.erro_para_email(dados_do_erro(erro_info) if isinstance(erro_info, ImportLog) else erro_info)
        assunto = f"Erro ao importar {erro['arquivo'].rsplit('/', 1)[-1] or 'arquivo'}"
        return self._enviar(usuario, "erro_importacao", assunto, "erro_importacao", {"erro": erro}, erro_info)

    def notificar_consulta_concluida(self, usuario, consulta) -> bool:
        """`consulta` (object or mapping): `documentos` (new documents, int), optionally `nfe`, `cte`,
        `eventos`, `resumos`, `erros` (ints), `cnpj`, `servico` ("nfe"/"cte"), `ult_nsu`, `max_nsu`,
        `concluida_em` (datetime), `mensagem` (SEFAZ's xMotivo) and `erro` (text, when it failed)."""
        contagens = {nome: int(fmt.campo(consulta, nome, 0)) for nome in ("nfe", "cte", "eventos", "resumos", "erros")}
        documentos = int(fmt.campo(consulta, "documentos", contagens["nfe"] + contagens["cte"]))
        contexto = {
            "consulta": {
                **contagens,
                "documentos": documentos,
                "cnpj": fmt.formatar_documento(fmt.campo(consulta, "cnpj", "")),
                "servico": {"nfe": "NF-e", "cte": "CT-e"}.get(fmt.campo(consulta, "servico", ""), ""),
                "ult_nsu": fmt.campo(consulta, "ult_nsu", ""),
                "max_nsu": fmt.campo(consulta, "max_nsu", ""),
                "concluida_em": fmt.formatar_data_hora(fmt.campo(consulta, "concluida_em", "")),
                "mensagem": fmt.campo(consulta, "mensagem", ""),
                "erro": fmt.campo(consulta, "erro", ""),
            }
        }
        novos = "1 documento novo" if documentos == 1 else f"{fmt.formatar_numero(documentos)} documentos novos"
        assunto = f"Consulta à SEFAZ concluída — {novos}"
        return self._enviar(usuario, "consulta_concluida", assunto, "consulta_concluida", contexto, consulta)

    def enviar_resumo_diario(self, usuario, estatisticas) -> bool:
        """`estatisticas` (object or mapping): `data` (the day), `nfe` and `cte` ({quantidade, valor}),
        optionally `top_emitentes` ([{nome, documento, quantidade, valor}]), `top_rotas`
        ([{uf_inicio, uf_fim, quantidade, valor}]), `erros_importacao`, `falhas_webhook` (ints) and
        `certificados_vencendo` ([{titular, cnpj, validade_fim, dias}]) and `por_dia` (the last days up to
        `data`, [{periodo, nfe: {quantidade}, cte: {quantidade}}]: the chart). `core.consultas.resumo_diario`
        builds all of it."""
        contexto = {"resumo": _estatisticas_para_email(estatisticas)}
        resumo = contexto["resumo"]
        assunto = (
            f"Resumo de {resumo['data']} — {fmt.formatar_numero(resumo['nfe']['quantidade'])} NF-e, "
            f"{fmt.formatar_numero(resumo['cte']['quantidade'])} CT-e"
        )
        return self._enviar(usuario, "resumo_diario", assunto, "resumo_diario", contexto, estatisticas)

    def notificar_certificado_vencendo(self, usuario, certificado, dias) -> bool:
        """`certificado` (object or mapping): `titular`, `cnpj` (or `cpf`), `validade_fim` (date or
        datetime), optionally `emissor`, `numero_serie`, `id`; `dias`: days left (0 today, < 0 expired)."""
        dias = int(dias)
        titular = fmt.campo(certificado, "titular", "")
        contexto = {
            "dias": dias,
            "dias_passados": -dias,
            "certificado": {
                "titular": titular,
                "cnpj": fmt.formatar_documento(fmt.campo(certificado, "cnpj", "") or fmt.campo(certificado, "cpf", "")),
                "validade_fim": fmt.formatar_data_hora(fmt.campo(certificado, "validade_fim", "")),
                "emissor": fmt.campo(certificado, "emissor", ""),
                "numero_serie": fmt.campo(certificado, "numero_serie", ""),
            },
        }
        assunto = f"Certificado digital {_prazo(dias)} — {titular or contexto['certificado']['cnpj']}"
        return self._enviar(usuario, "certificado_vencendo", assunto, "certificado_vencendo", contexto, certificado)

    def notificar_prazo_manifestacao(self, usuario, nfes) -> bool:
        """NF-e (rows of one organization) whose 180-day manifestation deadline is near, with no conclusive
        manifestation yet. Sent to every member regardless of their choices: missing it is a fiscal fault."""
        if not nfes:
            return False
        agora = timezone.now()
        itens = [
            {**fmt.documento_para_email(dados_do_documento(nfe)), "prazo": fmt.formatar_data_hora(nfe.prazo_manifestacao),
             "dias": dias_restantes(nfe.prazo_manifestacao, agora), "manifestacao": EstadoManifestacao(nfe.manifestacao).label}
            for nfe in nfes[:LIMITE_LISTA_PRAZOS]
        ]  # fmt: skip
        base = settings.FISCAL_URL_PUBLICA.rstrip("/")
        contexto = {"itens": itens, "quantidade": len(nfes), "mais": max(0, len(nfes) - LIMITE_LISTA_PRAZOS),
                    "url_pendentes": f"{base}{reverse('admin:core_nfe_changelist')}?manifestacao_pendente=sim"}  # fmt: skip
        menor = min(item["dias"] for item in itens)
        assunto = f"{len(nfes)} NF-e sem manifestação conclusiva — prazo {_prazo(menor)}"
        return self._enviar(usuario, None, assunto, "prazo_manifestacao", contexto, nfes[0])

    def enviar_resumo_importacao(self, usuario, resumo: ResumoImportacao) -> bool:
        """One digest of a bulk import: counts per kind and the first documents and errors of each.

        `resumo` holds the whole import; the user sees only the kinds they want (their preferences).
        """
        visivel = resumo.para(self._preferencia(usuario) or _NADA)
        if not visivel.total:
            return False
        contexto = _resumo_para_email(visivel)
        return self._enviar(usuario, None, _assunto_do_resumo(contexto), "resumo_importacao", contexto, None)

    def notificar_webhook_desativado(self, usuario, webhook, motivo: str, ultima_falha=None) -> bool:
        """`webhook`: a Webhook (its URL is shown without credentials, query string or fragment);
        `ultima_falha`: its latest failed WebhookLog, whose class tells the receiver what to fix."""
        base = settings.FISCAL_URL_PUBLICA.rstrip("/")
        contexto = {
            "webhook": {
                "id": webhook.pk,
                "nome": webhook.nome,
                "url": url_segura(webhook.url),
                "desativado_em": fmt.formatar_data_hora(getattr(webhook, "desativado_em", None) or timezone.now()),
            },
            "motivo": motivo,
            "ultima_falha": _falha_para_email(ultima_falha),
            "url_webhook": f"{base}/api/webhooks/{webhook.pk}/",
        }
        assunto = f"Webhook desativado — {webhook.nome}"
        return self._enviar(usuario, "webhook_desativado", assunto, "webhook_desativado", contexto, webhook)

    def notificar_problema_certificado(self, usuario, certificado, problema: str) -> bool:
        """The automatic capture of `certificado` stopped (593, certificate refused, ...): a person must act.

        Sent to every member regardless of their choices: nothing is captured until someone fixes it.
        """
        return self._enviar(usuario, None, *contexto_problema_certificado(certificado, problema), certificado)

    # -- sending -----------------------------------------------------------------------------

    @contextmanager
    def conexao(self):
        """One open connection to the mail server for every e-mail sent inside the block."""
        if self._conexao is not None:
            yield self._conexao
            return
        self._conexao = get_connection()
        try:
            self._conexao.open()
        except Exception:
            logger.exception("notificações: não foi possível abrir a conexão com o servidor de e-mail")
        try:
            yield self._conexao
        finally:
            try:
                self._conexao.close()
            except Exception:
                logger.exception("notificações: erro ao fechar a conexão com o servidor de e-mail")
            self._conexao = None

    def _documento(self, usuario, documento, tipo: str, verbo: str) -> bool:
        dados = dados_do_documento(documento) if isinstance(documento, (NFe, CTe)) else documento
        contexto = {"documento": fmt.documento_para_email(dados)}
        doc = contexto["documento"]
        assunto = f"{doc['tipo']} {doc['numero']} {verbo} — {doc['emitente']['nome'] or doc['emitente']['documento']}"
        return self._enviar(usuario, tipo, assunto, tipo, contexto, documento)

    def _enviar(self, usuario, tipo: str | None, assunto: str, modelo: str, contexto: dict, objeto) -> bool:
        """Build and send one e-mail; False when it must not go out or the backend failed."""
        if not pode_receber_email(usuario):
            return False
        preferencia = self._preferencia(usuario)
        if preferencia is None or (tipo is not None and not preferencia.quer(tipo)):
            return False
        if not _mesma_organizacao(objeto, preferencia):
            logger.warning("notificação %s recusada: objeto de outra organização que a do usuário %s", tipo, usuario.pk)
            return False
        try:
            self._mensagem(usuario, preferencia, assunto, modelo, contexto).send()
        except Exception:
            if self._levantar:
                raise
            # Never raise: the import or request that caused this has already committed.
            logger.exception("notificação %s para o usuário %s não enviada", tipo or modelo, usuario.pk)
            return False
        return True

    def _mensagem(self, usuario, preferencia, assunto, modelo, contexto) -> EmailMultiAlternatives:
        base = settings.FISCAL_URL_PUBLICA.rstrip("/")
        contexto = {
            **contexto,
            "assunto": fmt.linha_unica(assunto),
            "nome": usuario.get_full_name() or usuario.get_username(),
            "organizacao": preferencia.organizacao.nome,
            "url_publica": base,
            "url_preferencias": f"{base}{CAMINHO_PREFERENCIAS}",
        }
        texto = render_to_string(f"emails/{modelo}.txt", contexto)
        html = render_to_string(f"emails/{modelo}.html", contexto)
        mensagem = EmailMultiAlternatives(
            subject=contexto["assunto"],
            body=texto,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[usuario.email],
            connection=self._conexao,
        )
        mensagem.attach_alternative(html, "text/html")
        return mensagem

    def _preferencia(self, usuario) -> PreferenciaNotificacao | None:
        if usuario.pk in self._preferencias:
            return self._preferencias[usuario.pk]
        try:
            preferencia = preferencias_de(usuario)
        except SemOrganizacao:
            preferencia = None  # not a member of any organization: nothing to tell them
        self._preferencias[usuario.pk] = preferencia
        return preferencia


class _Nada:
    @staticmethod
    def quer(tipo: str) -> bool:
        return False


_NADA = _Nada()


def _mesma_organizacao(objeto, preferencia) -> bool:
    """Model rows carry their organization: never e-mail one to a member of another organization."""
    organizacao_id = getattr(objeto, "organizacao_id", None)
    return organizacao_id is None or organizacao_id == preferencia.organizacao_id


def _prazo(dias: int) -> str:
    if dias > 1:
        return f"vence em {dias} dias"
    if dias == 1:
        return "vence amanhã"
    if dias == 0:
        return "vence hoje"
    return "venceu ontem" if dias == -1 else f"venceu há {-dias} dias"


def _resumo_para_email(resumo: ResumoImportacao) -> dict:
    grupos = resumo.grupos
    atualizados = grupos["nfe_atualizada"].itens + grupos["cte_atualizado"].itens
    contexto = {
        "total": resumo.total,
        "nfe": grupos["nfe_importada"].quantidade,
        "cte": grupos["cte_importado"].quantidade,
        "atualizados": grupos["nfe_atualizada"].quantidade + grupos["cte_atualizado"].quantidade,
        "erros": grupos["erro_importacao"].quantidade,
        "itens_nfe": [fmt.documento_para_email(d) for d in grupos["nfe_importada"].itens],
        "itens_cte": [fmt.documento_para_email(d) for d in grupos["cte_importado"].itens],
        "itens_atualizados": [fmt.documento_para_email(d) for d in atualizados[: resumo.itens_por_tipo]],
        "itens_erros": [fmt.erro_para_email(e) for e in grupos["erro_importacao"].itens],
    }
    for nome in ("nfe", "cte", "atualizados", "erros"):
        contexto[f"mais_{nome}"] = contexto[nome] - len(contexto[f"itens_{nome}"])
    return contexto


def _assunto_do_resumo(contexto: dict) -> str:
    partes = [
        f"{fmt.formatar_numero(contexto['nfe'])} NF-e" if contexto["nfe"] else "",
        f"{fmt.formatar_numero(contexto['cte'])} CT-e" if contexto["cte"] else "",
        f"{fmt.formatar_numero(contexto['atualizados'])} atualizado(s)" if contexto["atualizados"] else "",
        f"{fmt.formatar_numero(contexto['erros'])} erro(s)" if contexto["erros"] else "",
    ]
    return "Importação concluída: " + ", ".join(p for p in partes if p)


def _estatisticas_para_email(estatisticas) -> dict:
    dia = fmt.campo(estatisticas, "data", None) or timezone.localdate() - timedelta(days=1)

    def totais(nome):
        bloco = fmt.campo(estatisticas, nome, {}) or {}
        quantidade, valor = fmt.campo(bloco, "quantidade", 0), fmt.campo(bloco, "valor", 0)
        return {"quantidade": int(quantidade), "valor": fmt.formatar_moeda(valor)}

    def linhas(nome, campos_de_valor=("valor",)):
        resultado = []
        for linha in fmt.campo(estatisticas, nome, []) or []:
            linha = dict(linha) if isinstance(linha, Mapping) else vars(linha).copy()
            for campo in campos_de_valor:
                if campo in linha:
                    linha[campo] = fmt.formatar_moeda(linha[campo])
            if "documento" in linha:
                linha["documento"] = fmt.formatar_documento(linha["documento"])
            resultado.append(linha)
        return resultado

    certificados = []
    for cert in fmt.campo(estatisticas, "certificados_vencendo", []) or []:
        certificados.append({
            "titular": fmt.campo(cert, "titular", ""),
            "cnpj": fmt.formatar_documento(fmt.campo(cert, "cnpj", "")),
            "validade_fim": fmt.formatar_data_hora(fmt.campo(cert, "validade_fim", "")),
            "dias": fmt.campo(cert, "dias", ""),
        })  # fmt: skip
    return {
        "data": fmt.formatar_data(dia),
        "nfe": totais("nfe"),
        "cte": totais("cte"),
        "top_emitentes": linhas("top_emitentes"),
        "top_rotas": linhas("top_rotas"),
        "erros_importacao": int(fmt.campo(estatisticas, "erros_importacao", 0)),
        "falhas_webhook": int(fmt.campo(estatisticas, "falhas_webhook", 0)),
        "certificados_vencendo": certificados,
        "grafico": barras_por_dia(fmt.campo(estatisticas, "por_dia", [])),
    }


def contexto_problema_certificado(certificado, problema: str) -> tuple[str, str, dict]:
    """(subject, template, context) of the "capture stopped" e-mail, shared with plain-address recipients."""
    base = settings.FISCAL_URL_PUBLICA.rstrip("/")
    contexto = {
        "certificado": {
            "id": certificado.pk,
            "titular": certificado.titular,
            "documento": fmt.formatar_documento(certificado.cnpj or certificado.cpf),
        },
        "problema": problema,
        "url_certificado": f"{base}/api/certificados/{certificado.pk}/",
    }
    assunto = f"Captura na SEFAZ parada — {certificado.titular}"
    return assunto, "certificado_problema", contexto


# What the receiver's owner should check, per failure class (core.models.ClasseDeFalha).
_DICAS_DE_FALHA = {
    "rede": (
        "O receptor não aceitou a conexão (DNS, conexão recusada ou interrompida): "
        "confira se ele está no ar e acessível pela internet."
    ),
    "tempo_esgotado": "O receptor não respondeu dentro do timeout do webhook: responda 2xx logo e processe o evento depois.",
    "tls": (
        "O certificado HTTPS do receptor foi recusado (vencido, autoassinado, de outro nome ou sem a cadeia "
        "intermediária): instale um certificado válido."
    ),
    "recusada": (
        "O endereço do receptor agora resolve para uma rede privada ou reservada, para onde o fiscal não envia: "
        "corrija o DNS ou a URL."
    ),
    "interna": "Erro interno do fiscal ao enviar: se persistir, fale com o suporte.",
}
_DICAS_HTTP = {
    401: "O receptor recusou a autenticação: confira o segredo (whsec_...) com que ele verifica a assinatura e os cabeçalhos customizados.",
    403: "O receptor recusou a autenticação: confira o segredo (whsec_...) com que ele verifica a assinatura e os cabeçalhos customizados.",
    410: "O receptor respondeu 410 Gone: pediu para não receber mais eventos.",
}


def _falha_para_email(log) -> dict | None:
    """The latest failed attempt as the e-mail shows it: class, code, error and what to check."""
    if log is None:
        return None
    classe = log.get_classe_falha_display()
    if log.classe_falha == "http":
        classe = f"HTTP {log.codigo_http}"
        dica = _DICAS_HTTP.get(log.codigo_http, "O receptor respondeu fora de 2xx: veja o trecho da resposta nos logs.")
    else:
        dica = _DICAS_DE_FALHA.get(log.classe_falha, "")
    return {"classe": classe, "erro": log.erro, "dica": dica, "tentativa": log.tentativa,
            "em": fmt.formatar_data_hora(log.atualizado_em)}  # fmt: skip
