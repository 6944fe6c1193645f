"""Capturing documents from SEFAZ: the distNSU loop of each NSU sequence, with SEFAZ's waits and blocks.

`consultar_certificado()` is the ONLY way anything (cron task, API, admin, command) queries
DistribuicaoDFe, so the rules of NT 2014.002 §3.11.4 (consumo indevido) and its cStat table hold
everywhere:

- one sequence per (CNPJ/CPF, service, ambiente), shared by every organization holding a valid
  certificate of that CNPJ (NT 2014.002 §3.11.4: all who query a CNPJ follow one ascending sequence);
  each document is fetched once and imported into each of those organizations;
- one run at a time per sequence: the cursor row is reserved by a conditional UPDATE (a lease), never by
  a lock held across the SOAP call (no outbound HTTP inside a transaction); a run that outlived its lease
  and lost the sequence to another stops without writing anything;
- each call continues from the `ultNSU` SEFAZ returned last; the documents of an answer and the new
  cursor are committed together;
- an answer lost mid-call (crash, timeout, connection reset after sending) may have moved SEFAZ's
  sequence on: the call is marked before it is sent, and a marker left without an answer holds the
  sequence for an hour (the wait SEFAZ demands after a last page). The repeat then either gets the
  answer (SEFAZ had not moved) or a 656 whose ultNSU is adopted, and the NSUs in between are fetched
  with consNSU: one 656 and its block per lost answer that carried documents, no document lost;
- 137, or ultNSU == maxNSU: the next call waits ≥ 61 min; 656: adopt the returned ultNSU and wait
  ≥ 65 min; 108/109/999 and network/TLS/HTTP failures: exponential backoff; configuration errors
  (589, 593, 472, 473, 28x, ...): the certificate is marked with the problem and nothing runs until a
  person clears it;
- NSUs skipped (a 656 that moved the cursor ahead, holes in a page) are fetched one by one with
  consNSU, at most 20 single queries per rolling hour.

This module is the orchestration; the rest, one job per module: `cursores` (the shared cursors, their
lease and SEFAZ's waits), `respostas` (what any answer stores: documents into every organization sharing
the sequence, or a failed call), `lacunas` (consNSU of the NSUs that never came), `ciencia_automatica`,
`problemas` (what only a person can fix) and `execucao` (a run's results, its ConsultaSEFAZ rows, its
event and e-mail).
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import ExitStack

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.eventos.emissao import disparar_webhook
from core.models import CertificadoDigital, ConsultaSEFAZ, CursorDistribuicao
from core.tenancy import inserir

from . import respostas
from .ciencia_automatica import dar_ciencias, nfe_consultada
from .cliente import ClienteSEFAZ, FalhaDeComunicacao, RespostaDistribuicao
from .cursores import (
    BLOQUEIO_CONSUMO_INDEVIDO,
    ESPERA_SEM_NOVIDADES,
    ReservaPerdida,
    adiar,
    conferir_reserva,
    cursor_do_servico,
    liberar,
    organizacoes_do_documento,
    permitida_em,
    renovar,
    reservar,
    salvar_cursor,
)
from .execucao import Execucao, ResultadoDoServico, consulta_para_email, dados_do_evento, registro_da_consulta
from .lacunas import anotar_lacunas, lacunas_de, preencher_lacunas
from .problemas import ConsultaNaoPermitida, conferir_certificado, marcar_problema
from .respostas import CONSUMO_INDEVIDO, DOCUMENTOS, SEM_DOCUMENTOS, TRANSITORIOS, Tipo

logger = logging.getLogger(__name__)


# --- entry points -----------------------------------------------------------------------------------


def consultar_certificado(
    certificado: CertificadoDigital, *, origem: str, servicos: list[str] | None = None,
    max_paginas: int | None = None, exigir_permissao: bool = False,
) -> Execucao:  # fmt: skip
    """Run distNSU for each service of `certificado` as far as SEFAZ's rules allow now.

    With `exigir_permissao`, raise ConsultaNaoPermitida instead of doing nothing when no service may
    be queried now (the API answers 429 with `permitida_em`).
    """
    from core.certificados import a1_do_certificado, opcoes_efetivas

    opcoes = opcoes_efetivas(certificado)
    servicos = list(servicos or opcoes.servicos)
    conferir_certificado(certificado)
    if exigir_permissao:
        conferir_permissao(certificado, servicos)
    execucao = Execucao(uuid.uuid4().hex, certificado.pk, origem, certificado=certificado)
    a1 = a1_do_certificado(certificado)
    max_paginas = max_paginas or settings.SEFAZ_MAX_PAGINAS
    from core.notifications.agrupamento import notificacoes_agrupadas

    # One digest per organization for the whole run (a first sync brings thousands of documents).
    with ExitStack() as pilha:
        for organizacao in organizacoes_do_documento(certificado.documento, opcoes.ambiente, certificado.organizacao):
            pilha.enter_context(notificacoes_agrupadas(organizacao))
        cliente = pilha.enter_context(ClienteSEFAZ(a1, opcoes.ambiente))
        for servico in servicos:
            cursor = cursor_do_servico(certificado, servico, opcoes.ambiente)
            resultado = _consultar_servico(cursor, cliente, opcoes.uf, execucao, max_paginas)
            execucao.servicos.append(resultado)
            if any(s.situacao == "problema" for s in execucao.servicos):
                break
    if nfe_consultada(execucao):
        execucao.ciencias_pendentes = dar_ciencias(certificado, opcoes.ambiente, execucao)
    if execucao.chamadas:
        with transaction.atomic():
            disparar_webhook("consulta_concluida", dados_do_evento(certificado, execucao), certificado.organizacao)
        from core.notifications.avisos import avisar_consulta_concluida

        avisar_consulta_concluida(certificado, consulta_para_email(certificado, execucao))
    return execucao


def conferir_permissao(certificado: CertificadoDigital, servicos: list[str]) -> None:
    """Raise unless at least one of `servicos` may be queried now."""
    conferir_certificado(certificado)
    from core.certificados import opcoes_efetivas

    ambiente, agora, esperas = opcoes_efetivas(certificado).ambiente, timezone.now(), []
    for servico in servicos:
        cursor = CursorDistribuicao.objects.filter(
            documento=certificado.documento, servico=servico, ambiente=ambiente
        ).first()
        permitida = permitida_em(cursor) if cursor else None
        if permitida is None or permitida <= agora:
            return
        esperas.append(permitida)
    primeira = min(esperas)
    raise ConsultaNaoPermitida(
        f"A SEFAZ só permite a próxima consulta a partir de {timezone.localtime(primeira):%d/%m/%Y %H:%M} "
        "(regra de consumo indevido: uma hora sem novidades, uma hora depois de uma resposta perdida, "
        "ou bloqueio 656).",
        primeira,
    )


# --- one sequence -------------------------------------------------------------------------------------


def _consultar_servico(cursor, cliente: ClienteSEFAZ, uf: str, execucao: Execucao, max_paginas: int):
    resultado = ResultadoDoServico(cursor.servico, ult_nsu=cursor.ult_nsu, max_nsu=cursor.max_nsu)
    if not reservar(cursor, execucao.id):
        resultado.situacao, resultado.mensagem = "em_andamento", "outra consulta desta sequência está em andamento"
        return resultado
    try:
        pausa = float(settings.SEFAZ_PAUSA_ENTRE_PAGINAS)
        while resultado.chamadas < max_paginas:
            permitida = permitida_em(cursor)
            if permitida and permitida > timezone.now():
                resultado.situacao = "bloqueada" if cursor.bloqueado_ate == permitida else "aguardando"
                resultado.proxima_consulta_em = permitida
                break
            if resultado.chamadas:
                time.sleep(pausa)
                renovar(cursor, execucao.id)
            if not _uma_pagina(cursor, cliente, uf, execucao, resultado):
                break
        else:
            resultado.situacao = "continua"  # page budget spent; the next run goes on from ultNSU
        preencher_lacunas(cursor, cliente, uf, execucao, resultado)
    except ReservaPerdida as perdida:
        # This run outlived its lease (a call or an import that hung) and another run took the sequence
        # over: what this one knows of the cursor is stale, and writing it would undo the new owner's pages.
        logger.warning("SEFAZ %s %s: %s; esta consulta parou sem gravar nada", cursor.servico, cursor.documento,
                       perdida)  # fmt: skip
        resultado.situacao, resultado.mensagem = "em_andamento", str(perdida)
    finally:
        liberar(cursor, execucao.id)
    return resultado


def _uma_pagina(cursor, cliente, uf, execucao, resultado) -> bool:
    """One distNSU call and its consequences; True when the loop should ask for the next page."""
    # Committed BEFORE the call: if the answer never gets stored (the process dies, a timeout, a reset
    # after sending), SEFAZ may have answered and moved the sequence on. The next run then waits the
    # hour SEFAZ demands after what may have been a last page or a 137 (calling earlier is 656), and
    # repeats the same ultNSU: SEFAZ either answers it or says 656 with its ultNSU (adopted, the NSUs
    # between filled by consNSU). NT 2014.002 §3.11.4.
    agora = timezone.now()
    cursor.proxima_consulta_em, cursor.ultima_consulta_em = agora + ESPERA_SEM_NOVIDADES, agora
    cursor.chamada_em_andamento_em = agora
    salvar_cursor(cursor, execucao.id)  # ReservaPerdida: no call at all
    try:
        resposta = cliente.distribuicao(cursor.servico, cursor.documento, uf, ult_nsu=cursor.ult_nsu)
    except FalhaDeComunicacao as falha:
        resultado.chamadas += 1
        resultado.falhas += 1
        respostas.registrar_falha(cursor, execucao, Tipo.DIST_NSU, falha, resultado, nsu=cursor.ult_nsu)
        return False
    resultado.chamadas += 1
    return _aplicar_distribuicao(cursor, resposta, execucao, resultado)


def _aplicar_distribuicao(cursor, resposta: RespostaDistribuicao, execucao, resultado) -> bool:
    agora, continuar = timezone.now(), False
    consulta = registro_da_consulta(cursor, execucao, Tipo.DIST_NSU, resposta, nsu_consultado=cursor.ult_nsu)
    with transaction.atomic():
        conferir_reserva(cursor, execucao.id)  # ReservaPerdida: nothing of this page is stored
        resultado.cstat, resultado.xmotivo = resposta.cstat, resposta.xmotivo
        cursor.chamada_em_andamento_em = None  # the answer is stored with everything it brought
        if resposta.cstat == DOCUMENTOS:
            importados = respostas.importar_documentos(cursor, resposta, execucao, resultado)
            anotar_lacunas(cursor, resposta)
            cursor.ult_nsu = resposta.ult_nsu if resposta.ult_nsu is not None else cursor.ult_nsu
            cursor.max_nsu = resposta.max_nsu if resposta.max_nsu is not None else cursor.max_nsu
            continuar = cursor.ult_nsu < cursor.max_nsu
            cursor.proxima_consulta_em = None if continuar else agora + ESPERA_SEM_NOVIDADES
            cursor.falhas_seguidas = 0
            consulta.documentos, consulta.importados = len(resposta.documentos), importados
            resultado.documentos += len(resposta.documentos)
            resultado.importados += importados
            resultado.situacao = "continua" if continuar else "concluida"
        elif resposta.cstat == SEM_DOCUMENTOS:
            if resposta.ult_nsu:
                cursor.ult_nsu = resposta.ult_nsu
            if resposta.max_nsu is not None:
                cursor.max_nsu = max(resposta.max_nsu, cursor.ult_nsu)
            cursor.proxima_consulta_em, cursor.falhas_seguidas = agora + ESPERA_SEM_NOVIDADES, 0
            resultado.situacao = "concluida"
        elif resposta.cstat == CONSUMO_INDEVIDO:
            if resposta.ult_nsu and resposta.ult_nsu > cursor.ult_nsu:
                lacunas_de(cursor, range(cursor.ult_nsu + 1, resposta.ult_nsu + 1))
            if resposta.ult_nsu:
                cursor.ult_nsu = resposta.ult_nsu
            cursor.bloqueado_ate = agora + BLOQUEIO_CONSUMO_INDEVIDO
            resultado.situacao, resultado.proxima_consulta_em = "bloqueada", cursor.bloqueado_ate
            logger.warning("SEFAZ 656 para %s %s: %s", cursor.servico, cursor.documento, resposta.xmotivo)
        elif resposta.cstat in TRANSITORIOS:
            adiar(cursor, agora)
            resultado.falhas += 1
            resultado.situacao, resultado.proxima_consulta_em = "erro", cursor.proxima_consulta_em
        else:
            resultado.falhas += 1
            marcar_problema(execucao.certificado, f"{resposta.cstat}: {resposta.xmotivo}", agora)
            resultado.situacao = "problema"
        resultado.mensagem = f"{resposta.cstat} {resposta.xmotivo}".strip()
        resultado.ult_nsu, resultado.max_nsu = cursor.ult_nsu, cursor.max_nsu
        resultado.proxima_consulta_em = resultado.proxima_consulta_em or cursor.proxima_consulta_em
        cursor.ultimo_cstat, cursor.ultima_consulta_em = resposta.cstat, agora
        salvar_cursor(cursor, execucao.id)
        inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
    return continuar
