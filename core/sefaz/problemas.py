"""What only a person can fix: the checks before a capture runs, and a certificate marked with its problem.

A certificate with a `problema` (a SEFAZ rejection such as 589 or 593, a certificate SEFAZ does not trust,
an expired one) never queries again until someone clears it; the organization is told once, after the
commit that stored the problem.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import Ambiente, CertificadoDigital
from core.tenancy import escopo

logger = logging.getLogger(__name__)


class ConsultaNaoPermitida(Exception):
    """A query now would break a SEFAZ rule or cannot work; `permitida_em` says when it may run (if known)."""

    def __init__(self, motivo: str, permitida_em: datetime | None = None):
        super().__init__(motivo)
        self.motivo, self.permitida_em = motivo, permitida_em


class CertificadoComProblema(ConsultaNaoPermitida):
    """Only a person can fix it (wrong certificate, expired, rejected by SEFAZ)."""


def marcar_problema(certificado: CertificadoDigital, problema: str, agora: datetime) -> None:
    """Stop the certificate's captures until a person clears `problema`; the e-mail goes after the commit."""
    escopo(CertificadoDigital, certificado.organizacao).filter(pk=certificado.pk).update(
        problema=problema[:300], problema_em=agora, atualizado_em=agora
    )
    certificado.problema, certificado.problema_em = problema[:300], agora
    logger.error("certificado %s (%s) parado: %s", certificado.pk, certificado.documento, problema)
    transaction.on_commit(lambda: _avisar_problema(certificado, problema))


def _avisar_problema(certificado: CertificadoDigital, problema: str) -> None:
    from core.notifications.avisos import avisar_problema_certificado

    avisar_problema_certificado(certificado, problema)  # never raises: the problem itself is stored


def conferir_certificado(certificado: CertificadoDigital) -> None:
    """`CertificadoComProblema` unless the certificate may query SEFAZ at all."""
    if certificado.problema:
        raise CertificadoComProblema(
            f"Consultas suspensas até que o problema seja resolvido: {certificado.problema}. "
            "Corrija e limpe o campo `problema` (PATCH) para retomar."
        )
    if certificado.validade_fim <= timezone.now():
        raise CertificadoComProblema(
            f"O certificado venceu em {timezone.localtime(certificado.validade_fim):%d/%m/%Y}; envie um certificado novo."
        )
    if certificado.ambiente == Ambiente.HOMOLOGACAO and not settings.FISCAL_ACEITAR_HOMOLOGACAO:
        # Every document would be rejected while its NSU is consumed: never start such a run.
        raise CertificadoComProblema(
            "O certificado está configurado para homologação (ambiente 2), mas FISCAL_ACEITAR_HOMOLOGACAO está "
            "desligado e todo documento seria recusado. Mude o ambiente do certificado para 1 (produção) "
            "ou defina FISCAL_ACEITAR_HOMOLOGACAO=true."
        )
