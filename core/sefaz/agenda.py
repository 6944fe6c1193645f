"""The scheduled capture: `run_scheduled_tasks --task=consultas_sefaz` (cron, every few minutes).

Each certificate with `consulta_automatica` whose interval has passed and whose SEFAZ waits are over
is queried through `consultar_certificado` (the one path, so blocks and leases hold here too). A
certificate that fails does not stop the others; a run started twice at once skips what the other
holds (the cursor leases).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields

from django.db import close_old_connections, connection
from django.utils import timezone

from .cursores import cursores_devidos, esta_na_hora
from .distribuicao import consultar_certificado
from .problemas import ConsultaNaoPermitida

logger = logging.getLogger(__name__)

ORCAMENTO_SEGUNDOS = 50 * 60  # a run that goes over leaves the rest to the next one


def certificados_devidos() -> list:
    """The certificates a run would query now (`--dry-run`): automatic capture on and its time come."""
    agora = timezone.now()
    return [certificado for certificado in _de_organizacoes_ativas(agora) if esta_na_hora(certificado, agora)]


def _de_organizacoes_ativas(agora=None):
    """`cursores_devidos` without deactivated organizations: their capture waits, cursor and NSU kept, and
    resumes where it stopped once they are reactivated. One log line per run names what was skipped."""
    devidos = cursores_devidos(agora)
    inativas = sorted(set(devidos.filter(organizacao__ativa=False).values_list("organizacao__slug", flat=True)))
    if inativas:
        logger.info("consultas_sefaz: organização(ões) inativa(s) fora da captura: %s", ", ".join(inativas))
    return devidos.filter(organizacao__ativa=True)


class TodasAsChamadasFalharam(RuntimeError):
    """Every SEFAZ call of the run went without a usable answer, or every document received was refused:
    the task fails, so cron mails someone."""


def consultar_devidos(escrever=None) -> str:
    """Query every due certificate; the one-line summary. Raises TodasAsChamadasFalharam when calls were
    made and none got a usable answer (SEFAZ down, a network or certificate problem for everyone), or when
    documents came and none could be stored (a homologação certificate the import refuses, for one): the
    refused ones are kept in their ImportLog, but such a run is no success."""
    escrever = escrever or (lambda texto: None)
    inicio, total, erros = time.monotonic(), Contagem(), 0
    for certificado in _de_organizacoes_ativas():
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
        contagem = Contagem.da_execucao(execucao)
        total.somar(contagem)
        escrever(f"certificado {certificado.pk} ({certificado.documento}): {contagem.texto()}; "
                 + ", ".join(f"{s.servico}: {s.situacao}" for s in execucao.servicos))  # fmt: skip
    resumo = (f"consultas_sefaz: {total.certificados} certificado(s) consultado(s), {total.texto()}, "
              f"{erros} erro(s) inesperado(s).")  # fmt: skip
    if (total.chamadas and total.falhas == total.chamadas) or (erros and not total.chamadas):
        raise TodasAsChamadasFalharam(f"nenhuma chamada à SEFAZ teve resposta utilizável. {resumo}")
    if total.documentos and total.erros == total.documentos:
        raise TodasAsChamadasFalharam(f"todo documento recebido da SEFAZ foi recusado na importação. {resumo}")
    return resumo


@dataclass
class Contagem:
    """What a run did, per certificate or summed: documents received and their outcome, calls and failures."""

    certificados: int = 0
    documentos: int = 0
    importados: int = 0
    duplicados: int = 0
    erros: int = 0
    chamadas: int = 0
    falhas: int = 0

    @classmethod
    def da_execucao(cls, execucao) -> Contagem:
        campos = ("documentos", "importados", "duplicados", "erros", "chamadas", "falhas")
        return cls(1, *(sum(getattr(s, campo) for s in execucao.servicos) for campo in campos))

    def somar(self, outra: Contagem) -> None:
        for campo in fields(self):
            setattr(self, campo.name, getattr(self, campo.name) + getattr(outra, campo.name))

    def texto(self) -> str:
        return (
            f"{self.documentos} documento(s): {self.importados} gravado(s), {self.duplicados} duplicado(s), "
            f"{self.erros} com erro; {self.chamadas} chamada(s) à SEFAZ, {self.falhas} sem resposta utilizável"
        )
