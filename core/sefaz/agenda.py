"""The scheduled capture: `run_scheduled_tasks --task=consultas_sefaz` (cron, every few minutes).

Each certificate with `consulta_automatica` whose interval has passed and whose SEFAZ waits are over
is queried through `consultar_certificado` (the one path, so blocks and leases hold here too). A
certificate that fails does not stop the others; a run started twice at once skips what the other
holds (the cursor leases).
"""

from __future__ import annotations

import logging
import time

from django.db import close_old_connections, connection
from django.utils import timezone

from .distribuicao import ConsultaNaoPermitida, consultar_certificado, cursores_devidos, esta_na_hora

logger = logging.getLogger(__name__)

ORCAMENTO_SEGUNDOS = 50 * 60  # a run that goes over leaves the rest to the next one


def certificados_devidos() -> list:
    """The certificates a run would query now (`--dry-run`): automatic capture on and its time come."""
    agora = timezone.now()
    return [certificado for certificado in cursores_devidos(agora) if esta_na_hora(certificado, agora)]


def consultar_devidos(escrever=None) -> str:
    escrever = escrever or (lambda texto: None)
    inicio, consultados, documentos, erros = time.monotonic(), 0, 0, 0
    for certificado in cursores_devidos():
        if time.monotonic() - inicio > ORCAMENTO_SEGUNDOS:
            break
        if not esta_na_hora(certificado, timezone.now()):
            continue
        try:
            execucao = consultar_certificado(certificado, origem="agendada")
        except ConsultaNaoPermitida as motivo:
            logger.info("certificado %s pulado: %s", certificado.pk, motivo)
            continue
        except Exception:  # one certificate's failure never stops the others
            erros += 1
            logger.exception("consulta agendada do certificado %s falhou", certificado.pk)
            continue
        finally:
            if not connection.in_atomic_block:
                close_old_connections()
        consultados += 1
        recebidos = sum(s.documentos for s in execucao.servicos)
        documentos += recebidos
        escrever(f"certificado {certificado.pk} ({certificado.documento}): {recebidos} documento(s); "
                 + ", ".join(f"{s.servico}: {s.situacao}" for s in execucao.servicos))  # fmt: skip
    return f"consultas_sefaz: {consultados} certificado(s) consultado(s), {documentos} documento(s), {erros} erro(s)."
