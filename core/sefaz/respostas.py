"""What a distNSU or consNSU answer leaves behind, whichever loop asked: its documents stored in every
organization sharing the sequence, or the failed call recorded with the wait it imposes."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from core.documentos.importacao import Entrada, importar
from core.models import ConsultaSEFAZ, ImportLog, Origem
from core.tenancy import inserir

from .cliente import FalhaDeComunicacao, RespostaDistribuicao
from .cursores import ESPERA_SEM_NOVIDADES, adiar, conferir_reserva, organizacoes_do_documento, salvar_cursor
from .execucao import ResultadoDoServico, registro_da_consulta
from .problemas import marcar_problema

logger = logging.getLogger(__name__)

SEM_DOCUMENTOS, DOCUMENTOS, CONSUMO_INDEVIDO = 137, 138, 656
TRANSITORIOS = {108, 109, 999}

Tipo = ConsultaSEFAZ.Tipo


def importar_documentos(cursor, resposta: RespostaDistribuicao, execucao, resultado: ResultadoDoServico) -> int:
    """Import the answer's documents into every organization sharing the sequence; the number of documents
    stored (new or upgraded) in the certificate's organization, whose outcomes `resultado` counts."""
    entradas = [
        Entrada(f"SEFAZ {cursor.servico.upper()} NSU {d.nsu or 0:015d} ({d.schema or 'sem schema'})", d.xml, d.nsu)
        for d in resposta.documentos
    ]
    # An undecodable docZip keeps what SEFAZ sent (its base64 text) and its NSU in the ImportLog.
    entradas += [
        Entrada(f"SEFAZ {cursor.servico.upper()} NSU {e.nsu or 0:015d} (docZip ilegível)", e.bruto, e.nsu, erro=e.motivo)
        for e in resposta.erros
    ]
    propria, *outras = organizacoes_do_documento(cursor.documento, cursor.ambiente, execucao.certificado.organizacao)
    resultados = list(importar(organizacao=propria, entradas=entradas, origem=Origem.SEFAZ))
    Status = ImportLog.Status
    for organizacao in outras:  # the same bytes and NSUs: fetched once, stored in each
        deles = list(importar(organizacao=organizacao, entradas=entradas, origem=Origem.SEFAZ))
        execucao.resumos_das_outras.setdefault(organizacao.pk, []).extend(
            r.chave for r in deles if r.status == Status.SUCESSO and r.tipo_xml == "resNFe"
        )
    resultado.resumos_novos += [r.chave for r in resultados if r.status == Status.SUCESSO and r.tipo_xml == "resNFe"]
    resultado.duplicados += sum(1 for r in resultados if r.status == Status.DUPLICADO)
    resultado.erros += sum(1 for r in resultados if r.status == Status.ERRO)
    return sum(1 for r in resultados if r.status == Status.SUCESSO)


def registrar_falha(cursor, execucao, tipo, falha: FalhaDeComunicacao, resultado, nsu=None) -> None:
    """A call without a usable answer: the wait it imposes (backoff, or the hour of a possibly lost answer),
    or the certificate's problem when only a person can fix it; `ReservaPerdida` if the run lost the sequence."""
    agora, espera_anterior = timezone.now(), cursor.proxima_consulta_em
    consulta = registro_da_consulta(cursor, execucao, tipo, None, nsu_consultado=nsu, erro=falha.motivo)
    with transaction.atomic():
        conferir_reserva(cursor, execucao.id)
        if falha.permanente:
            marcar_problema(execucao.certificado, falha.motivo, agora)
            resultado.situacao = "problema"
        else:
            adiar(cursor, agora)
            resultado.situacao = "erro"
        if tipo == Tipo.DIST_NSU and falha.talvez_processada:
            # The answer may exist and be lost (timeout, reset after sending): hold the sequence for the
            # hour, never the short backoff (repeating early is 656 and restarts SEFAZ's hour).
            perdida = cursor.chamada_em_andamento_em + ESPERA_SEM_NOVIDADES
            cursor.proxima_consulta_em = max(cursor.proxima_consulta_em or perdida, perdida)
        elif tipo == Tipo.DIST_NSU:
            cursor.chamada_em_andamento_em = None  # SEFAZ never processed it: repeating it is safe
        elif espera_anterior:  # a failed consNSU never shortens the wait distNSU is under
            cursor.proxima_consulta_em = max(cursor.proxima_consulta_em or espera_anterior, espera_anterior)
        resultado.proxima_consulta_em = cursor.proxima_consulta_em
        cursor.ultima_consulta_em = agora
        salvar_cursor(cursor, execucao.id)
        inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
    resultado.mensagem = falha.motivo
    logger.warning("SEFAZ %s %s: %s", cursor.servico, cursor.documento, falha.motivo)
