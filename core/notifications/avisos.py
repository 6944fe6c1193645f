"""Notices to every member of an organization who wants them (not tied to an import)."""

from __future__ import annotations

import logging

from core.webhooks.estatisticas import ultima_falha

from .preferencias import destinatarios
from .servico import NotificationService

logger = logging.getLogger(__name__)


def avisar_webhook_desativado(webhook, motivo: str) -> int:
    """E-mail the members of the webhook's organization who want `webhook_desativado`; how many got it.

    Called after the commit that disabled it (core.webhooks.entrega). Never raises.
    """
    try:
        pessoas = destinatarios(webhook.organizacao, "webhook_desativado")
        servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in pessoas})
        falha = ultima_falha(webhook)  # once, not per recipient
        with servico.conexao():
            return sum(servico.notificar_webhook_desativado(d.usuario, webhook, motivo, falha) for d in pessoas)
    except Exception:
        logger.exception("notificações: falha ao avisar que o webhook %s foi desativado", webhook.pk)
        return 0


def avisar_problema_certificado(certificado, problema: str) -> int:
    """E-mail every member, and the organization's extra capture recipients, that the capture stopped.

    Called after the commit that recorded the problem (core.sefaz.distribuicao). Never raises.
    """
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from core.certificados import configuracao_da_organizacao

    from .servico import contexto_problema_certificado

    enviados = 0
    try:
        pessoas = destinatarios(certificado.organizacao)
        servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in pessoas})
        with servico.conexao() as conexao:
            enviados += sum(servico.notificar_problema_certificado(d.usuario, certificado, problema) for d in pessoas)
            membros = {d.usuario.email.lower() for d in pessoas}
            extras = [e for e in configuracao_da_organizacao(certificado.organizacao).destinatarios if e.lower() not in membros]
            if extras:
                assunto, modelo, contexto = contexto_problema_certificado(certificado, problema)
                base = settings.FISCAL_URL_PUBLICA.rstrip("/")
                contexto = {**contexto, "assunto": assunto, "nome": "", "organizacao": certificado.organizacao.nome,
                            "url_publica": base, "url_preferencias": f"{base}/api/notificacoes/preferencias/"}  # fmt: skip
                mensagem = EmailMultiAlternatives(assunto, render_to_string(f"emails/{modelo}.txt", contexto),
                                                  settings.DEFAULT_FROM_EMAIL, extras, connection=conexao)  # fmt: skip
                mensagem.attach_alternative(render_to_string(f"emails/{modelo}.html", contexto), "text/html")
                mensagem.send()
                enviados += len(extras)
    except Exception:
        logger.exception("notificações: falha ao avisar o problema do certificado %s", certificado.pk)
    return enviados


def avisar_consulta_concluida(certificado, consulta: dict) -> int:
    """E-mail the members who chose `consulta_concluida` (off by default). Never raises."""
    try:
        pessoas = destinatarios(certificado.organizacao, "consulta_concluida")
        servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in pessoas})
        with servico.conexao():
            return sum(servico.notificar_consulta_concluida(d.usuario, consulta) for d in pessoas)
    except Exception:
        logger.exception("notificações: falha ao avisar a consulta do certificado %s", certificado.pk)
        return 0
