"""Notices not tied to one event: they queue `EnvioEmail` rows; the sender (envio.py) renders and sends them.

Both are called after the commit of what they tell: the capture problem by core.sefaz.problemas, the
finished SEFAZ run by core.sefaz.distribuicao (its data from core.sefaz.execucao.consulta_para_email).
Queueing is one short transaction of INSERTs, no SMTP. Never raise: what they tell is already stored.
"""

from __future__ import annotations

import json
import logging
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.models import TipoDeEmail

from .fila import enfileirar
from .preferencias import destinatarios

logger = logging.getLogger(__name__)


def avisar_problema_certificado(certificado, problema: str) -> int:
    """Queue, to every member and to the organization's extra capture recipients, that the capture stopped.

    Every member regardless of their choices: nothing is captured until someone fixes it. How many rows.
    """
    from core.certificados import configuracao_da_organizacao

    try:
        organizacao = certificado.organizacao
        pessoas = destinatarios(organizacao)
        membros = {d.usuario.email.lower() for d in pessoas}
        extras = [e for e in configuracao_da_organizacao(organizacao).destinatarios if e.lower() not in membros]
        chave = f"{certificado.pk}:{(certificado.problema_em or timezone.now()).isoformat()}"
        dados = {"certificado_id": certificado.pk, "problema": problema}
        with transaction.atomic():
            return enfileirar(organizacao, TipoDeEmail.CERTIFICADO_PROBLEMA, chave, [d.usuario for d in pessoas],
                              enderecos=extras, dados=dados)  # fmt: skip
    except Exception:
        logger.exception("notificações: falha ao enfileirar o aviso do problema do certificado %s", certificado.pk)
        return 0


def avisar_consulta_concluida(certificado, consulta: dict) -> int:
    """Queue the SEFAZ-run e-mail to the members who chose `consulta_concluida` (off by default)."""
    try:
        pessoas = destinatarios(certificado.organizacao, "consulta_concluida")
        dados = json.loads(json.dumps(consulta, cls=DjangoJSONEncoder))
        with transaction.atomic():
            return enfileirar(certificado.organizacao, TipoDeEmail.CONSULTA_CONCLUIDA, uuid.uuid4().hex,
                              [d.usuario for d in pessoas], dados=dados)  # fmt: skip
    except Exception:
        logger.exception("notificações: falha ao enfileirar o aviso da consulta do certificado %s", certificado.pk)
        return 0
