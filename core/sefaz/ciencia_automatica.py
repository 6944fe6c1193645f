"""The automatic ciência after a capture: what makes SEFAZ send the full NF-e of each new summary.

Sent outside any transaction (it is a SOAP call), after the pages were stored; the full NF-e then comes
in a later NSU. A failure here never fails the capture: the rows stay pending for the next run.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from core.models import CertificadoDigital
from core.tenancy import todas_as_organizacoes

from .execucao import Execucao

logger = logging.getLogger(__name__)


def nfe_consultada(execucao: Execucao) -> bool:
    """Manifestations exist for NF-e only: pending ones are sent by runs that include the NF-e service."""
    return any(s.servico == "nfe" for s in execucao.servicos) and not any(
        s.situacao == "problema" for s in execucao.servicos
    )


def dar_ciencias(certificado: CertificadoDigital, ambiente: int, execucao: Execucao) -> int:
    """The automatic ciência, outside any transaction, so the full NF-e of each new summary arrives in a later NSU.

    In each organization sharing the CNPJ, new summaries get a pending ciência when its settings ask for
    it; then every pending ciência of the CNPJ is sent, each organization with its own certificate (the
    procEventoNFe is stored there; a second one for the same NF-e answers 573, counted as registered).
    Returns how many are still pending in the certificate's own organization (-1: could not tell).
    """
    from core.certificados import opcoes_efetivas

    from .manifestacao import pedir_manifestacoes, tentar_pendentes

    nfe = next(s for s in execucao.servicos if s.servico == "nfe")
    novos = {**execucao.resumos_das_outras, certificado.organizacao_id: nfe.resumos_novos}
    restantes = -1
    for proprio in _certificados_do_documento(certificado, ambiente):
        try:
            chaves = list(dict.fromkeys(novos.get(proprio.organizacao_id, [])))
            if chaves and opcoes_efetivas(proprio).ciencia_automatica:
                pedir_manifestacoes(proprio, chaves, "ciencia", origem="automatica")
            registradas, pendentes = tentar_pendentes(proprio, origem="automatica")
        except Exception:  # the capture itself succeeded; the rows stay pending for the next run
            logger.exception("ciência automática falhou para o certificado %s", proprio.pk)
            continue
        if proprio.pk == certificado.pk:
            nfe.ciencias, restantes = nfe.ciencias + registradas, pendentes
    return restantes


def _certificados_do_documento(certificado: CertificadoDigital, ambiente: int) -> list[CertificadoDigital]:
    """`certificado`, then one usable certificate of the same CNPJ/CPF in each other organization sharing it."""
    campo = "cnpj" if len(certificado.documento) == 14 else "cpf"
    outros = (
        todas_as_organizacoes(CertificadoDigital)
        .filter(**{campo: certificado.documento}, ambiente=ambiente, problema="", validade_fim__gt=timezone.now())
        .exclude(organizacao_id=certificado.organizacao_id)
        .select_related("organizacao")
        .order_by("organizacao_id", "-validade_fim")
    )
    por_organizacao = {}
    for outro in outros:
        por_organizacao.setdefault(outro.organizacao_id, outro)
    return [certificado, *por_organizacao.values()]
