"""NSUs that never came: noted when a page skips them or a 656 moves the cursor ahead, then fetched one by
one with consNSU, at most 20 single queries per rolling hour (NT 2014.002 §3.11.4)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.models import ConsultaSEFAZ
from core.tenancy import inserir

from . import respostas
from .cliente import FalhaDeComunicacao, RespostaDistribuicao
from .cursores import BLOQUEIO_CONSUMO_INDEVIDO, conferir_reserva, renovar, salvar_cursor
from .execucao import registro_da_consulta
from .respostas import CONSUMO_INDEVIDO, DOCUMENTOS, SEM_DOCUMENTOS, Tipo

logger = logging.getLogger(__name__)

LIMITE_AVULSAS_POR_HORA = 20
MAX_LACUNAS = 1000


def anotar_lacunas(cursor, resposta: RespostaDistribuicao) -> None:
    """NSUs inside this page's range that did not come (SEFAZ promises none; a lost answer makes them)."""
    recebidos = {d.nsu for d in resposta.documentos if d.nsu}
    if not recebidos or resposta.ult_nsu is None:
        return
    faltando = set(range(cursor.ult_nsu + 1, resposta.ult_nsu + 1)) - recebidos
    lacunas_de(cursor, sorted(faltando))


def lacunas_de(cursor, nsus) -> None:
    """Add `nsus` to the cursor's gaps (kept sorted, at most MAX_LACUNAS: the most recent)."""
    lacunas = sorted(set(cursor.lacunas) | set(nsus))
    if len(lacunas) > MAX_LACUNAS:
        logger.warning("%d NSUs faltando em %s %s: guardando os %d mais recentes", len(lacunas), cursor.servico,
                       cursor.documento, MAX_LACUNAS)  # fmt: skip
        lacunas = lacunas[-MAX_LACUNAS:]
    cursor.lacunas = lacunas


def preencher_lacunas(cursor, cliente, uf, execucao, resultado) -> None:
    """consNSU for each gap, oldest first, while the hour's allowance lasts and no block is on; stops at the
    first answer that is neither 137 nor 138. `ReservaPerdida` if the run lost the sequence meanwhile."""
    while cursor.lacunas:
        agora = timezone.now()
        if cursor.bloqueado_ate and cursor.bloqueado_ate > agora:  # the 1-hour wait is distNSU's; a block is all
            return
        recentes = [m for m in cursor.consultas_avulsas if datetime.fromisoformat(m) > agora - timedelta(hours=1)]
        if len(recentes) >= LIMITE_AVULSAS_POR_HORA:
            return
        nsu = cursor.lacunas[0]
        cursor.consultas_avulsas = [*recentes, agora.isoformat()]
        renovar(cursor, execucao.id)  # each single query may take the client's whole timeout
        try:
            resposta = cliente.distribuicao(cursor.servico, cursor.documento, uf, nsu=nsu)
        except FalhaDeComunicacao as falha:
            resultado.chamadas += 1
            resultado.falhas += 1
            respostas.registrar_falha(cursor, execucao, Tipo.CONS_NSU, falha, resultado, nsu=nsu)
            return
        resultado.chamadas += 1
        consulta = registro_da_consulta(cursor, execucao, Tipo.CONS_NSU, resposta, nsu_consultado=nsu)
        with transaction.atomic():
            conferir_reserva(cursor, execucao.id)
            if resposta.cstat == DOCUMENTOS:
                consulta.documentos = len(resposta.documentos)
                consulta.importados = respostas.importar_documentos(cursor, resposta, execucao, resultado)
                resultado.documentos += consulta.documentos
                resultado.importados += consulta.importados
            elif resposta.cstat == CONSUMO_INDEVIDO:
                cursor.bloqueado_ate = agora + BLOQUEIO_CONSUMO_INDEVIDO
            if resposta.cstat in (DOCUMENTOS, SEM_DOCUMENTOS):  # 137: that NSU was never generated
                cursor.lacunas = [n for n in cursor.lacunas if n != nsu]
            salvar_cursor(cursor, execucao.id)
            inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
        if resposta.cstat not in (DOCUMENTOS, SEM_DOCUMENTOS):
            return
