"""The domain signals (sent after commit, core/signals.py) as notification items.

Receivers do no I/O of their own: they hand the item to `agrupamento.registrar`, which buffers it
inside an import block or e-mails it at once outside one (already after the commit).
"""

from __future__ import annotations

from core import signals
from core.eventos.documentos import dados_do_documento, dados_do_erro
from core.models import NFe

from .agrupamento import registrar


def nfe_importada(sender, instance, organizacao, **extra) -> None:
    registrar(organizacao, "nfe_importada", dados_do_documento(instance))


def cte_importado(sender, instance, organizacao, **extra) -> None:
    registrar(organizacao, "cte_importado", dados_do_documento(instance))


def documento_atualizado(sender, instance, organizacao, motivo="", **extra) -> None:
    tipo = "nfe_atualizada" if isinstance(instance, NFe) else "cte_atualizado"
    registrar(organizacao, tipo, {**dados_do_documento(instance), "motivo": motivo})


def erro_importacao(sender, instance, organizacao, **extra) -> None:
    registrar(organizacao, "erro_importacao", dados_do_erro(instance))


def conectar() -> None:
    """Called once from CoreConfig.ready(); dispatch_uid keeps a second call harmless."""
    signals.nfe_importada_signal.connect(nfe_importada, dispatch_uid="notificacoes.nfe_importada")
    signals.cte_importado_signal.connect(cte_importado, dispatch_uid="notificacoes.cte_importado")
    signals.documento_atualizado_signal.connect(documento_atualizado, dispatch_uid="notificacoes.documento_atualizado")
    signals.import_log_signal.connect(erro_importacao, dispatch_uid="notificacoes.erro_importacao")
