"""Capturing documents from SEFAZ: the distNSU loop of each NSU sequence, with SEFAZ's waits and blocks.

`consultar_certificado()` is the ONLY way anything (cron task, API, admin, command) queries
DistribuicaoDFe, so the rules of NT 2014.002 §3.11.4 (consumo indevido) and its cStat table hold
everywhere:

- one sequence per (CNPJ/CPF, service, ambiente), shared by every organization holding a valid
  certificate of that CNPJ (NT 2014.002 §3.11.4: all who query a CNPJ follow one ascending sequence);
  each document is fetched once and imported into each of those organizations;
- one run at a time per sequence: the cursor row is reserved by a conditional UPDATE (a lease), never by
  a lock held across the SOAP call (no outbound HTTP inside a transaction);
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
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.documentos.importacao import Entrada, importar
from core.eventos.emissao import disparar_webhook
from core.models import Ambiente, CertificadoDigital, ConsultaSEFAZ, CursorDistribuicao, ImportLog, Organizacao, Origem
from core.tenancy import escopo, inserir, todas_as_organizacoes

from .cliente import ClienteSEFAZ, FalhaDeComunicacao, RespostaDistribuicao

logger = logging.getLogger(__name__)

ESPERA_SEM_NOVIDADES = timedelta(minutes=61)
BLOQUEIO_CONSUMO_INDEVIDO = timedelta(minutes=65)
BACKOFF_MINUTOS = (15, 30, 60, 120, 240)
RESERVA = timedelta(minutes=10)
LIMITE_AVULSAS_POR_HORA = 20
MAX_LACUNAS = 1000

SEM_DOCUMENTOS, DOCUMENTOS, CONSUMO_INDEVIDO = 137, 138, 656
TRANSITORIOS = {108, 109, 999}

Tipo = ConsultaSEFAZ.Tipo


class ConsultaNaoPermitida(Exception):
    """A query now would break a SEFAZ rule or cannot work; `permitida_em` says when it may run (if known)."""

    def __init__(self, motivo: str, permitida_em: datetime | None = None):
        super().__init__(motivo)
        self.motivo, self.permitida_em = motivo, permitida_em


class CertificadoComProblema(ConsultaNaoPermitida):
    """Only a person can fix it (wrong certificate, expired, rejected by SEFAZ)."""


@dataclass
class ResultadoDoServico:
    servico: str
    situacao: str = "concluida"  # concluida, continua, aguardando, bloqueada, em_andamento, erro, problema
    chamadas: int = 0
    documentos: int = 0
    importados: int = 0  # new or upgraded documents in the certificate's organization
    duplicados: int = 0
    erros: int = 0  # documents that could not be stored there (kept in the ImportLog)
    falhas: int = 0  # calls without a usable SEFAZ answer (network, TLS, HTTP, SOAP fault)
    cstat: int | None = None
    xmotivo: str = ""
    ult_nsu: int | None = None
    max_nsu: int | None = None
    proxima_consulta_em: datetime | None = None
    mensagem: str = ""
    ciencias: int = 0  # automatic ciência sent for new summaries
    resumos_novos: list[str] = field(default_factory=list, repr=False)


@dataclass
class Execucao:
    id: str
    certificado_id: int
    origem: str
    servicos: list[ResultadoDoServico] = field(default_factory=list)
    certificado: CertificadoDigital | None = field(default=None, repr=False)
    ciencias_pendentes: int = 0  # ciências still unregistered after this run (retried by the next one)
    # New summaries stored in the other organizations sharing the sequence: organization id -> keys.
    resumos_das_outras: dict[int, list[str]] = field(default_factory=dict, repr=False)

    @property
    def chamadas(self) -> int:
        return sum(s.chamadas for s in self.servicos)

    def resumo(self) -> dict:
        return {
            "execucao": self.id, "certificado": self.certificado_id, "origem": self.origem,
            "documentos": sum(s.documentos for s in self.servicos),
            "importados": sum(s.importados for s in self.servicos),
            "duplicados": sum(s.duplicados for s in self.servicos),
            "erros": sum(s.erros for s in self.servicos),
            "servicos": [asdict(s) for s in self.servicos],
        }  # fmt: skip


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
    _conferir_certificado(certificado)
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
    if _nfe_consultada(execucao):
        execucao.ciencias_pendentes = _dar_ciencias(certificado, opcoes.ambiente, execucao)
    if execucao.chamadas:
        with transaction.atomic():
            disparar_webhook("consulta_concluida", _dados_do_evento(certificado, execucao), certificado.organizacao)
        from core.notifications.avisos import avisar_consulta_concluida

        avisar_consulta_concluida(certificado, _consulta_para_email(certificado, execucao))
    return execucao


def _nfe_consultada(execucao: Execucao) -> bool:
    """Manifestations exist for NF-e only: pending ones are sent by runs that include the NF-e service."""
    return any(s.servico == "nfe" for s in execucao.servicos) and not any(
        s.situacao == "problema" for s in execucao.servicos
    )


def conferir_permissao(certificado: CertificadoDigital, servicos: list[str]) -> None:
    """Raise unless at least one of `servicos` may be queried now."""
    _conferir_certificado(certificado)
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


def cursores_devidos(agora: datetime | None = None):
    """Certificates with automatic capture whose schedule says it is time (for `consultas_sefaz`)."""
    from core.tenancy import todas_as_organizacoes

    agora = agora or timezone.now()
    return (
        todas_as_organizacoes(CertificadoDigital)
        .filter(consulta_automatica=True, problema="", validade_fim__gt=agora)
        .select_related("organizacao")
        .order_by("id")
    )


def esta_na_hora(certificado: CertificadoDigital, agora: datetime | None = None) -> bool:
    """Due when some service's cursor has no wait pending and its interval has passed."""
    from core.certificados import opcoes_efetivas

    agora, opcoes = agora or timezone.now(), opcoes_efetivas(certificado)
    cursores = {
        c.servico: c
        for c in CursorDistribuicao.objects.filter(
            documento=certificado.documento, ambiente=opcoes.ambiente, servico__in=opcoes.servicos
        )
    }
    for servico in opcoes.servicos:
        cursor = cursores.get(servico)
        if cursor is None:
            return True
        permitida = permitida_em(cursor)
        intervalo_passou = cursor.ultima_consulta_em is None or (
            cursor.ult_nsu < cursor.max_nsu  # more documents waiting: continue at once
            or cursor.ultima_consulta_em + timedelta(minutes=opcoes.intervalo_minutos) <= agora
        )
        if (permitida is None or permitida <= agora) and intervalo_passou:
            return True
    return False


def permitida_em(cursor: CursorDistribuicao) -> datetime | None:
    perdida = cursor.chamada_em_andamento_em and cursor.chamada_em_andamento_em + ESPERA_SEM_NOVIDADES
    datas = [d for d in (cursor.proxima_consulta_em, cursor.bloqueado_ate, perdida) if d]
    return max(datas) if datas else None


def organizacoes_do_documento(documento: str, ambiente: int, primeira: Organizacao | None = None) -> list[Organizacao]:
    """The organizations holding a valid certificate of `documento` (CNPJ/CPF) in `ambiente`: they share
    its NSU sequences. `primeira` (the one running the query) comes first, whatever the others hold."""
    campo = "cnpj" if len(documento) == 14 else "cpf"
    ids = set(
        todas_as_organizacoes(CertificadoDigital)
        .filter(**{campo: documento}, ambiente=ambiente, validade_fim__gt=timezone.now())
        .values_list("organizacao_id", flat=True)
    )
    outras = list(Organizacao.objects.filter(pk__in=ids - {getattr(primeira, "pk", None)}).order_by("pk"))
    return [primeira, *outras] if primeira is not None else outras


def cursor_do_servico(certificado: CertificadoDigital, servico: str, ambiente: int) -> CursorDistribuicao:
    """The CNPJ's shared cursor of `servico` (created on first use), pointed at the certificate now using it."""
    existentes = CursorDistribuicao.objects.filter(documento=certificado.documento, servico=servico, ambiente=ambiente)
    cursor = existentes.first()
    if cursor is None:
        novo = CursorDistribuicao(certificado=certificado, documento=certificado.documento, servico=servico,
                                  ambiente=ambiente)  # fmt: skip
        CursorDistribuicao.objects.bulk_create([novo], ignore_conflicts=True)  # a concurrent run may win
        cursor = existentes.get()
    if cursor.certificado_id != certificado.pk:  # the sequence belongs to the CNPJ: follow its newest certificate
        existentes.filter(pk=cursor.pk).update(certificado=certificado)
        cursor.certificado = certificado
    return cursor


# --- one sequence -------------------------------------------------------------------------------------


def _consultar_servico(cursor, cliente: ClienteSEFAZ, uf: str, execucao: Execucao, max_paginas: int):
    resultado = ResultadoDoServico(cursor.servico, ult_nsu=cursor.ult_nsu, max_nsu=cursor.max_nsu)
    if not _reservar(cursor, execucao.id):
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
                _renovar(cursor, execucao.id)
            if not _uma_pagina(cursor, cliente, uf, execucao, resultado):
                break
        else:
            resultado.situacao = "continua"  # page budget spent; the next run goes on from ultNSU
        _preencher_lacunas(cursor, cliente, uf, execucao, resultado)
    finally:
        _liberar(cursor, execucao.id)
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
    _salvar_cursor(cursor)
    try:
        resposta = cliente.distribuicao(cursor.servico, cursor.documento, uf, ult_nsu=cursor.ult_nsu)
    except FalhaDeComunicacao as falha:
        resultado.chamadas += 1
        resultado.falhas += 1
        _registrar_falha(cursor, execucao, Tipo.DIST_NSU, falha, resultado, nsu=cursor.ult_nsu)
        return False
    resultado.chamadas += 1
    return _aplicar_distribuicao(cursor, resposta, execucao, resultado)


def _aplicar_distribuicao(cursor, resposta: RespostaDistribuicao, execucao, resultado) -> bool:
    agora, continuar = timezone.now(), False
    resultado.cstat, resultado.xmotivo = resposta.cstat, resposta.xmotivo
    consulta = _consulta(cursor, execucao, Tipo.DIST_NSU, resposta, nsu_consultado=cursor.ult_nsu)
    with transaction.atomic():
        cursor.chamada_em_andamento_em = None  # the answer is stored with everything it brought
        if resposta.cstat == DOCUMENTOS:
            importados = _importar(cursor, resposta, execucao, resultado)
            _anotar_lacunas(cursor, resposta)
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
                _lacunas_de(cursor, range(cursor.ult_nsu + 1, resposta.ult_nsu + 1))
            if resposta.ult_nsu:
                cursor.ult_nsu = resposta.ult_nsu
            cursor.bloqueado_ate = agora + BLOQUEIO_CONSUMO_INDEVIDO
            resultado.situacao, resultado.proxima_consulta_em = "bloqueada", cursor.bloqueado_ate
            logger.warning("SEFAZ 656 para %s %s: %s", cursor.servico, cursor.documento, resposta.xmotivo)
        elif resposta.cstat in TRANSITORIOS:
            _adiar(cursor, agora)
            resultado.falhas += 1
            resultado.situacao, resultado.proxima_consulta_em = "erro", cursor.proxima_consulta_em
        else:
            resultado.falhas += 1
            _marcar_problema(execucao.certificado, f"{resposta.cstat}: {resposta.xmotivo}", agora)
            resultado.situacao = "problema"
        resultado.mensagem = f"{resposta.cstat} {resposta.xmotivo}".strip()
        resultado.ult_nsu, resultado.max_nsu = cursor.ult_nsu, cursor.max_nsu
        resultado.proxima_consulta_em = resultado.proxima_consulta_em or cursor.proxima_consulta_em
        cursor.ultimo_cstat, cursor.ultima_consulta_em = resposta.cstat, agora
        _salvar_cursor(cursor)
        inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
    return continuar


def _importar(cursor, resposta: RespostaDistribuicao, execucao, resultado: ResultadoDoServico) -> int:
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


def _anotar_lacunas(cursor, resposta: RespostaDistribuicao) -> None:
    """NSUs inside this page's range that did not come (SEFAZ promises none; a lost answer makes them)."""
    recebidos = {d.nsu for d in resposta.documentos if d.nsu}
    if not recebidos or resposta.ult_nsu is None:
        return
    faltando = set(range(cursor.ult_nsu + 1, resposta.ult_nsu + 1)) - recebidos
    _lacunas_de(cursor, sorted(faltando))


def _lacunas_de(cursor, nsus) -> None:
    lacunas = sorted(set(cursor.lacunas) | set(nsus))
    if len(lacunas) > MAX_LACUNAS:
        logger.warning("%d NSUs faltando em %s %s: guardando os %d mais recentes", len(lacunas), cursor.servico,
                       cursor.documento, MAX_LACUNAS)  # fmt: skip
        lacunas = lacunas[-MAX_LACUNAS:]
    cursor.lacunas = lacunas


def _dar_ciencias(certificado: CertificadoDigital, ambiente: int, execucao: Execucao) -> int:
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


# --- gaps (consNSU, 20 per hour) ------------------------------------------------------------------------


def _preencher_lacunas(cursor, cliente, uf, execucao, resultado) -> None:
    while cursor.lacunas:
        agora = timezone.now()
        if cursor.bloqueado_ate and cursor.bloqueado_ate > agora:  # the 1-hour wait is distNSU's; a block is all
            return
        recentes = [m for m in cursor.consultas_avulsas if datetime.fromisoformat(m) > agora - timedelta(hours=1)]
        if len(recentes) >= LIMITE_AVULSAS_POR_HORA:
            return
        nsu = cursor.lacunas[0]
        cursor.consultas_avulsas = [*recentes, agora.isoformat()]
        try:
            resposta = cliente.distribuicao(cursor.servico, cursor.documento, uf, nsu=nsu)
        except FalhaDeComunicacao as falha:
            resultado.chamadas += 1
            resultado.falhas += 1
            _registrar_falha(cursor, execucao, Tipo.CONS_NSU, falha, resultado, nsu=nsu)
            return
        resultado.chamadas += 1
        consulta = _consulta(cursor, execucao, Tipo.CONS_NSU, resposta, nsu_consultado=nsu)
        with transaction.atomic():
            if resposta.cstat == DOCUMENTOS:
                consulta.documentos = len(resposta.documentos)
                consulta.importados = _importar(cursor, resposta, execucao, resultado)
                resultado.documentos += consulta.documentos
                resultado.importados += consulta.importados
            elif resposta.cstat == CONSUMO_INDEVIDO:
                cursor.bloqueado_ate = agora + BLOQUEIO_CONSUMO_INDEVIDO
            if resposta.cstat in (DOCUMENTOS, SEM_DOCUMENTOS):  # 137: that NSU was never generated
                cursor.lacunas = [n for n in cursor.lacunas if n != nsu]
            _salvar_cursor(cursor)
            inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
        if resposta.cstat not in (DOCUMENTOS, SEM_DOCUMENTOS):
            return


# --- failures, problems, bookkeeping --------------------------------------------------------------------


def _registrar_falha(cursor, execucao, tipo, falha: FalhaDeComunicacao, resultado, nsu=None) -> None:
    agora, espera_anterior = timezone.now(), cursor.proxima_consulta_em
    consulta = _consulta(cursor, execucao, tipo, None, nsu_consultado=nsu, erro=falha.motivo)
    with transaction.atomic():
        if falha.permanente:
            _marcar_problema(execucao.certificado, falha.motivo, agora)
            resultado.situacao = "problema"
        else:
            _adiar(cursor, agora)
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
        _salvar_cursor(cursor)
        inserir(ConsultaSEFAZ, execucao.certificado.organizacao, [consulta])
    resultado.mensagem = falha.motivo
    logger.warning("SEFAZ %s %s: %s", cursor.servico, cursor.documento, falha.motivo)


def _adiar(cursor, agora: datetime) -> None:
    cursor.falhas_seguidas += 1
    minutos = BACKOFF_MINUTOS[min(cursor.falhas_seguidas, len(BACKOFF_MINUTOS)) - 1]
    # Replaces the hour set before the call when SEFAZ surely did not move (108/109/999, HTTP errors, a
    # refused connection): a retry repeats the same ultNSU. A possibly lost answer keeps the hour
    # (`_registrar_falha`).
    cursor.proxima_consulta_em = agora + timedelta(minutes=minutos)


def _marcar_problema(certificado: CertificadoDigital, problema: str, agora: datetime) -> None:
    escopo(CertificadoDigital, certificado.organizacao).filter(pk=certificado.pk).update(
        problema=problema[:300], problema_em=agora, atualizado_em=agora
    )
    certificado.problema, certificado.problema_em = problema[:300], agora
    logger.error("certificado %s (%s) parado: %s", certificado.pk, certificado.documento, problema)
    transaction.on_commit(lambda: _avisar_problema(certificado, problema))


def _avisar_problema(certificado: CertificadoDigital, problema: str) -> None:
    from core.notifications.avisos import avisar_problema_certificado

    avisar_problema_certificado(certificado, problema)  # never raises: the problem itself is stored


def _conferir_certificado(certificado: CertificadoDigital) -> None:
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


def _consulta(cursor, execucao, tipo, resposta, *, nsu_consultado=None, erro="") -> ConsultaSEFAZ:
    return ConsultaSEFAZ(
        organizacao=execucao.certificado.organizacao, certificado=execucao.certificado, cursor=cursor,
        execucao=execucao.id,
        documento=cursor.documento, servico=cursor.servico, ambiente=cursor.ambiente, tipo=tipo,
        nsu_consultado=nsu_consultado, origem=execucao.origem, erro=erro,
        cstat=resposta.cstat if resposta else None, xmotivo=(resposta.xmotivo if resposta else "")[:500],
        ult_nsu=resposta.ult_nsu if resposta else None, max_nsu=resposta.max_nsu if resposta else None,
        duracao_ms=resposta.duracao_ms if resposta else None,
    )  # fmt: skip


_CAMPOS_DO_CURSOR = [
    "ult_nsu", "max_nsu", "proxima_consulta_em", "bloqueado_ate", "chamada_em_andamento_em", "ultimo_cstat",
    "ultima_consulta_em",
    "falhas_seguidas", "consultas_avulsas", "lacunas", "atualizado_em",
]  # fmt: skip


def _salvar_cursor(cursor) -> None:
    cursor.save(update_fields=_CAMPOS_DO_CURSOR)


def _reservar(cursor, execucao_id: str) -> bool:
    agora = timezone.now()
    livre = Q(reservado_ate__isnull=True) | Q(reservado_ate__lte=agora) | Q(reservado_por=execucao_id)
    # A conditional UPDATE is atomic on the row (PostgreSQL locks it, SQLite the database): of two runs, of
    # one organization or of two sharing the CNPJ, exactly one gets the sequence.
    reservado = CursorDistribuicao.objects.filter(livre, pk=cursor.pk).update(
        reservado_por=execucao_id, reservado_ate=agora + RESERVA
    )
    if reservado:
        cursor.refresh_from_db()  # the state another run may have left
    return bool(reservado)


def _renovar(cursor, execucao_id: str) -> None:
    CursorDistribuicao.objects.filter(pk=cursor.pk, reservado_por=execucao_id).update(
        reservado_ate=timezone.now() + RESERVA
    )


def _liberar(cursor, execucao_id: str) -> None:
    CursorDistribuicao.objects.filter(pk=cursor.pk, reservado_por=execucao_id).update(
        reservado_por="", reservado_ate=None
    )


def _consulta_para_email(certificado: CertificadoDigital, execucao: Execucao) -> dict:
    por_servico = {s.servico: s for s in execucao.servicos}
    falhas = [s.mensagem for s in execucao.servicos if s.situacao in ("erro", "problema")]
    unico = execucao.servicos[0] if len(execucao.servicos) == 1 else None
    return {
        "documentos": sum(s.importados for s in execucao.servicos),
        "nfe": por_servico["nfe"].importados if "nfe" in por_servico else 0,
        "cte": por_servico["cte"].importados if "cte" in por_servico else 0,
        "cnpj": certificado.documento, "servico": unico.servico if unico else "",
        "ult_nsu": unico.ult_nsu if unico else "", "max_nsu": unico.max_nsu if unico else "",
        "concluida_em": timezone.now(), "mensagem": "; ".join(s.xmotivo for s in execucao.servicos if s.xmotivo),
        "erro": "; ".join(falhas),
    }  # fmt: skip


def _dados_do_evento(certificado: CertificadoDigital, execucao: Execucao) -> dict:
    return {
        "certificado": certificado.documento, "certificado_id": certificado.pk, "execucao": execucao.id,
        "origem": execucao.origem, "documentos": sum(s.documentos for s in execucao.servicos),
        "importados": sum(s.importados for s in execucao.servicos),
        "servicos": [
            {"servico": s.servico, "situacao": s.situacao, "chamadas": s.chamadas, "documentos": s.documentos,
             "importados": s.importados, "cstat": s.cstat, "xmotivo": s.xmotivo, "ult_nsu": s.ult_nsu,
             "max_nsu": s.max_nsu, "proxima_consulta_em": s.proxima_consulta_em}
            for s in execucao.servicos
        ],
    }  # fmt: skip
