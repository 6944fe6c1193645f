"""Manifestação do destinatário (NT 2014.002 §3.11.3; e2102x0_v1.00.xsd): ciência, confirmação, desconhecimento, operação não realizada.

Each manifestation is an `evento` signed with the destinatário's A1 certificate and sent to
NFeRecepcaoEvento4 (up to 20 per envEvento). An accepted one (cStat 135/136) comes back as
`procEventoNFe` (our signed evento + SEFAZ's retEvento) and goes through the import pipeline like any
other event, so it is stored as an `EventoDocumento` linked to its NF-e and raises the usual events.
A ciência, confirmação or não realizada makes the Ambiente Nacional publish the full NF-e in a new NSU,
which the next distNSU run brings in to replace the summary.

Every manifestation asked is a `Manifestacao` row and every try a `TentativaDeManifestacao`. A ciência
not registered (HTTP error, timeout, any cStat but 135/136/573) stays `pendente`, and each capture run of
its CNPJ sends it again (`tentar_pendentes`) until SEFAZ registers it: without it the full NF-e never comes.
573 (duplicate) means an earlier try did register, its answer lost: the row becomes `registrada`.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from lxml import etree

from core.documentos.chave import ChaveInvalida, decompor_chave
from core.documentos.importacao import importar_bytes
from core.documentos.manifestacao_estado import (
    CIENCIA,
    CONCLUSIVAS,
    MAX_SEQUENCIA,
    PRAZO_DA_MANIFESTACAO,
    TIPOS_DE_MANIFESTACAO,
    registrado,
)
from core.documentos.xmldsig import assinar
from core.models import CertificadoDigital, ConsultaSEFAZ, EventoDocumento, NFe, Origem
from core.erros import EntradaInvalida
from core.models.sefaz import Manifestacao, TentativaDeManifestacao
from core.tenancy import escopo, inserir

from .cliente import NS_NFE, ClienteSEFAZ, FalhaDeComunicacao, RetornoEvento

logger = logging.getLogger(__name__)
N = f"{{{NS_NFE}}}"
MAX_POR_LOTE = 20


@dataclass(frozen=True)
class TipoDeManifestacao:
    nome: str
    codigo: str
    descricao: str  # descEvento, exactly as the schema wants it (no accents)
    justificativa: str  # "obrigatoria", "opcional" or "proibida"


MANIFESTACOES = {
    t.nome: t
    for t in (
        TipoDeManifestacao("ciencia", "210210", "Ciencia da Operacao", "proibida"),
        TipoDeManifestacao("confirmacao", "210200", "Confirmacao da Operacao", "proibida"),
        TipoDeManifestacao("desconhecimento", "210220", "Desconhecimento da Operacao", "opcional"),
        TipoDeManifestacao("nao_realizada", "210240", "Operacao nao Realizada", "obrigatoria"),
    )
}
REGISTRADO = {135, 136}
DUPLICIDADE = 573  # the event already exists at SEFAZ: registered by an earlier try whose answer was lost
_sequencia_de_lote = itertools.count(int(time.time() * 1000) % 10**12)


class ManifestacaoInvalida(EntradaInvalida):
    """The request cannot become a valid event (the message names the field)."""


@dataclass(frozen=True)
class ResultadoManifestacao:
    chave: str
    tipo: str
    cstat: int | None
    xmotivo: str
    protocolo: str = ""
    registrada: bool = False
    erro: str = ""
    sequencia: int = 1  # nSeqEvento sent


def validar_justificativa(tipo: TipoDeManifestacao, justificativa: str) -> str:
    justificativa = " ".join((justificativa or "").split())
    if tipo.justificativa == "proibida" and justificativa:
        raise ManifestacaoInvalida("justificativa", f"{tipo.nome} não leva justificativa")
    if tipo.justificativa == "obrigatoria" and not justificativa:
        raise ManifestacaoInvalida("justificativa", f"{tipo.nome} exige justificativa de 15 a 255 caracteres")
    if justificativa and not 15 <= len(justificativa) <= 255:
        raise ManifestacaoInvalida("justificativa", "a justificativa deve ter de 15 a 255 caracteres")
    return justificativa


def tipo_de_manifestacao(nome: str) -> TipoDeManifestacao:
    if nome not in MANIFESTACOES:
        raise ManifestacaoInvalida("tipo", f"tipo deve ser um de: {', '.join(MANIFESTACOES)}")
    return MANIFESTACOES[nome]


def certificado_do_destinatario(organizacao, chave: str) -> CertificadoDigital:
    """The organization's valid certificate for the NF-e's destinatário (same CNPJ base, or same CPF).

    A summary (resNFe) does not name its destinatário; then the organization's only valid certificate
    is used, and with several the caller must say which (`certificado`).
    """
    nfe = escopo(NFe, organizacao).filter(chave=chave).only("destinatario_documento").first()
    if nfe is None:
        raise ManifestacaoInvalida("chave", f"NF-e {chave} não encontrada nesta organização")
    destinatario = nfe.destinatario_documento or ""
    candidatos = list(
        escopo(CertificadoDigital, organizacao).filter(validade_fim__gt=timezone.now()).order_by("-validade_fim")
    )
    if not destinatario and len(candidatos) == 1:
        return candidatos[0]
    if not destinatario and candidatos:
        raise ManifestacaoInvalida("certificado", f"a NF-e {chave} é um resumo sem destinatário: informe o certificado")
    for certificado in candidatos:
        if certificado.cnpj and len(destinatario) == 14 and certificado.cnpj[:8] == destinatario[:8]:
            return certificado
        if certificado.cpf and certificado.cpf == destinatario:
            return certificado
    raise ManifestacaoInvalida(
        "chave", f"nenhum certificado válido desta organização é do destinatário da NF-e {chave} ({destinatario or 'sem destinatário'})"
    )


def manifestar(
    organizacao, chaves: list[str], tipo: str, justificativa: str = "", *, origem: str = "api",
    certificado: CertificadoDigital | None = None,
) -> list[ResultadoManifestacao]:  # fmt: skip
    """Manifest each key (grouped by certificate, ≤ 20 per envEvento); one result per key, in order.

    Without `certificado`, each key uses its destinatário's certificate (`certificado_do_destinatario`).
    """
    tipo_ = tipo_de_manifestacao(tipo)
    justificativa = validar_justificativa(tipo_, justificativa)
    if not chaves:
        raise ManifestacaoInvalida("chaves", "informe ao menos uma chave")
    if len(chaves) > MAX_POR_LOTE:
        raise ManifestacaoInvalida("chaves", f"no máximo {MAX_POR_LOTE} chaves por lote")
    for chave in chaves:
        try:
            if decompor_chave(chave).modelo != "55":
                raise ChaveInvalida(f"{chave} não é de NF-e (modelo 55): só NF-e tem manifestação")
        except ChaveInvalida as erro:
            raise ManifestacaoInvalida("chaves", str(erro)) from None
    por_certificado: dict[int, tuple[CertificadoDigital, list[str]]] = {}
    for chave in dict.fromkeys(chaves):
        if not escopo(NFe, organizacao).filter(chave=chave).exists():
            raise ManifestacaoInvalida("chaves", f"NF-e {chave} não encontrada nesta organização")
        usado = certificado or certificado_do_destinatario(organizacao, chave)
        por_certificado.setdefault(usado.pk, (usado, []))[1].append(chave)
    sequencias = proximas_sequencias(organizacao, list(dict.fromkeys(chaves)), tipo_)
    resultados = {}
    for certificado, do_certificado in por_certificado.values():
        for resultado in _enviar(certificado, do_certificado, tipo_, justificativa, origem, sequencias):
            resultados[resultado.chave] = resultado
    return [resultados[chave] for chave in chaves]


def proximas_sequencias(organizacao, chaves: list[str], tipo: TipoDeManifestacao) -> dict[str, int]:
    """The nSeqEvento of `tipo` for each key, refusing here what SEFAZ would refuse (NT 2020.001 v1.50).

    Each conclusive manifestation may be registered twice (nSeqEvento 1, then 2), the ciência once, and
    none after 180 days from the authorization (cStat 596; Ajuste SINIEF 07/05, cláusula décima quinta-C).
    A ciência after a conclusive one is refused too (cStat 655). The count is of the events stored here:
    one registered at SEFAZ whose answer was lost is not, and SEFAZ answers 573 for it, which
    `_registrar_tentativas` takes as registered.
    """
    agora = timezone.now()
    prazos = dict(escopo(NFe, organizacao).filter(chave__in=chaves).values_list("chave", "prazo_manifestacao"))
    eventos = [
        e for e in escopo(EventoDocumento, organizacao).filter(chave__in=chaves, tipo_evento__in=list(TIPOS_DE_MANIFESTACAO))
        if registrado(e)
    ]  # fmt: skip
    sequencias = {}
    for chave in chaves:
        _conferir_prazo(chave, prazos.get(chave), agora)
        da_chave = [e for e in eventos if e.chave == chave]
        if tipo.codigo == CIENCIA and any(e.tipo_evento in CONCLUSIVAS for e in da_chave):
            raise ManifestacaoInvalida(
                "tipo", f"a NF-e {chave} já tem manifestação conclusiva: a ciência não cabe mais (a SEFAZ recusaria com 655)"
            )
        proxima = 1 + max((e.sequencia for e in da_chave if e.tipo_evento == tipo.codigo), default=0)
        if proxima > MAX_SEQUENCIA[tipo.codigo]:
            vezes = "uma vez" if MAX_SEQUENCIA[tipo.codigo] == 1 else f"{MAX_SEQUENCIA[tipo.codigo]} vezes"
            raise ManifestacaoInvalida(
                "tipo", f"{tipo.nome} já registrada {vezes} para a NF-e {chave}: é o máximo (NT 2020.001)"
            )
        sequencias[chave] = proxima
    return sequencias


def _conferir_prazo(chave: str, prazo: datetime | None, agora: datetime) -> None:
    if prazo is not None and agora > prazo:
        raise ManifestacaoInvalida("chaves", (
            f"o prazo de manifestação da NF-e {chave} terminou em {timezone.localtime(prazo):%d/%m/%Y %H:%M} "
            "(180 dias da autorização, Ajuste SINIEF 07/05): a SEFAZ recusaria (596)"
        ))  # fmt: skip


def montar_evento(certificado_a1, documento: str, chave: str, tipo: TipoDeManifestacao, justificativa: str,
                  ambiente: int, momento: datetime, sequencia: int = 1) -> etree._Element:  # fmt: skip
    """The signed `evento` (versao 1.00) of one manifestation; Id = "ID" + tpEvento + chNFe + nSeqEvento (2 digits)."""
    evento = etree.Element(N + "evento", nsmap={None: NS_NFE}, versao="1.00")
    inf = etree.SubElement(evento, N + "infEvento", Id=f"ID{tipo.codigo}{chave}{sequencia:02d}")
    campos = [
        ("cOrgao", "91"), ("tpAmb", str(ambiente)), ("CPF" if len(documento) == 11 else "CNPJ", documento),
        ("chNFe", chave), ("dhEvento", timezone.localtime(momento).replace(microsecond=0).isoformat()),
        ("tpEvento", tipo.codigo), ("nSeqEvento", str(sequencia)), ("verEvento", "1.00"),
    ]  # fmt: skip
    for nome, valor in campos:
        etree.SubElement(inf, N + nome).text = valor
    detalhe = etree.SubElement(inf, N + "detEvento", versao="1.00")
    etree.SubElement(detalhe, N + "descEvento").text = tipo.descricao
    if justificativa:
        etree.SubElement(detalhe, N + "xJust").text = justificativa
    assinar(inf, certificado_a1.chave_privada, certificado_a1.certificado)
    return evento


def pedir_manifestacoes(certificado: CertificadoDigital, chaves: list[str], tipo: str, *, origem: str) -> None:
    """Record `tipo` as wanted for `chaves` (pending until registered); keys already recorded are left alone."""
    organizacao = certificado.organizacao
    novas = [
        Manifestacao(organizacao=organizacao, chave=chave, tipo=tipo, documento=certificado.documento,
                     certificado=certificado, origem=origem)
        for chave in dict.fromkeys(chaves)
    ]  # fmt: skip
    inserir(Manifestacao, organizacao, novas, ignorar_conflitos=True)


def pendentes(organizacao, documento: str, tipo: str = "ciencia"):
    return escopo(Manifestacao, organizacao).filter(
        situacao=Manifestacao.Situacao.PENDENTE, tipo=tipo, documento=documento
    ).order_by("id")


def tentar_pendentes(certificado: CertificadoDigital, *, origem: str) -> tuple[int, int]:
    """Send every pending ciência of the certificate's CNPJ (≤ 20 per envEvento); (registered now, still pending)."""
    tipo = MANIFESTACOES["ciencia"]
    _desistir_das_vencidas(certificado)
    chaves = list(pendentes(certificado.organizacao, certificado.documento).values_list("chave", flat=True))
    registradas = 0
    for inicio in range(0, len(chaves), MAX_POR_LOTE):
        resultados = _enviar(certificado, chaves[inicio : inicio + MAX_POR_LOTE], tipo, "", origem)
        registradas += sum(1 for r in resultados if r.registrada or r.cstat == DUPLICIDADE)
    return registradas, pendentes(certificado.organizacao, certificado.documento).count()


def _desistir_das_vencidas(certificado: CertificadoDigital) -> None:
    """Pending past the manifestation deadline (180 days from the NF-e's authorization, Ajuste SINIEF 07/05,
    cláusula décima quinta-C; counted here from when we first asked, which is later): SEFAZ would refuse
    every try, so the row stops being retried and says why."""
    limite = timezone.now() - PRAZO_DA_MANIFESTACAO
    pendentes(certificado.organizacao, certificado.documento).filter(criada_em__lt=limite).update(
        situacao=Manifestacao.Situacao.FALHOU,
        erro="prazo de 180 dias para a manifestação passou (Ajuste SINIEF 07/05): não é mais tentada",
    )


def _registrar_tentativas(certificado, tipo: str, origem: str, resultados: list[ResultadoManifestacao]) -> None:
    """One TentativaDeManifestacao per key and the Manifestacao's state, in the caller's transaction."""
    organizacao, agora, Situacao = certificado.organizacao, timezone.now(), Manifestacao.Situacao
    pedir_manifestacoes(certificado, [r.chave for r in resultados], tipo, origem=origem)
    chaves = [r.chave for r in resultados]
    linhas = {m.chave: m for m in escopo(Manifestacao, organizacao).filter(tipo=tipo, chave__in=chaves)}
    tentativas = []
    for resultado in resultados:
        manifestacao = linhas[resultado.chave]
        registrada = resultado.registrada or resultado.cstat == DUPLICIDADE
        escopo(Manifestacao, organizacao).filter(pk=manifestacao.pk).update(
            situacao=Situacao.REGISTRADA if registrada else Situacao.PENDENTE,
            tentativas=manifestacao.tentativas + 1, cstat=resultado.cstat, xmotivo=resultado.xmotivo[:500],
            protocolo=resultado.protocolo[:20], erro=resultado.erro, ultima_tentativa_em=agora,
            registrada_em=agora if registrada else None, certificado=certificado,
        )  # fmt: skip
        tentativas.append(TentativaDeManifestacao(
            organizacao=organizacao, manifestacao=manifestacao, cstat=resultado.cstat,
            xmotivo=resultado.xmotivo[:500], erro=resultado.erro, origem=origem,
        ))  # fmt: skip
    inserir(TentativaDeManifestacao, organizacao, tentativas)


def _enviar(certificado, chaves, tipo, justificativa, origem, sequencias=None) -> list[ResultadoManifestacao]:
    from core.certificados import a1_do_certificado, opcoes_efetivas

    a1, ambiente = a1_do_certificado(certificado), opcoes_efetivas(certificado).ambiente
    agora, sequencias = timezone.now(), sequencias or {}
    eventos = {
        c: montar_evento(a1, certificado.documento, c, tipo, justificativa, ambiente, agora, sequencias.get(c, 1))
        for c in chaves
    }
    consulta = ConsultaSEFAZ(
        organizacao=certificado.organizacao, certificado=certificado, execucao=uuid.uuid4().hex,
        documento=certificado.documento, servico="nfe", ambiente=ambiente, tipo=ConsultaSEFAZ.Tipo.MANIFESTACAO,
        chave_consultada=chaves[0] if len(chaves) == 1 else "", origem=origem,
    )  # fmt: skip
    try:
        with ClienteSEFAZ(a1, ambiente) as cliente:
            resposta = cliente.enviar_eventos([_copia(e) for e in eventos.values()], next(_sequencia_de_lote))
    except FalhaDeComunicacao as falha:
        consulta.erro = falha.motivo
        resultados = [
            ResultadoManifestacao(c, tipo.nome, None, "", erro=falha.motivo, sequencia=sequencias.get(c, 1)) for c in chaves
        ]
        with transaction.atomic():
            inserir(ConsultaSEFAZ, certificado.organizacao, [consulta])
            _registrar_tentativas(certificado, tipo.nome, origem, resultados)
        logger.warning("manifestação %s de %d NF-e sem resposta da SEFAZ: %s", tipo.nome, len(chaves), falha.motivo)
        return resultados
    consulta.cstat, consulta.xmotivo, consulta.duracao_ms = resposta.cstat, resposta.xmotivo[:500], resposta.duracao_ms
    retornos = {r.chave: r for r in resposta.retornos}
    resultados = []
    with transaction.atomic():
        inserir(ConsultaSEFAZ, certificado.organizacao, [consulta])
        for chave, evento in eventos.items():
            retorno = retornos.get(chave)
            if retorno is None:
                motivo = f"{resposta.cstat} {resposta.xmotivo}".strip()
                resultados.append(ResultadoManifestacao(chave, tipo.nome, resposta.cstat, resposta.xmotivo, erro=motivo,
                                                        sequencia=sequencias.get(chave, 1)))  # fmt: skip
                continue
            registrada = retorno.cstat in REGISTRADO
            erro = _guardar(certificado.organizacao, evento, retorno) if registrada else f"{retorno.cstat} {retorno.xmotivo}"
            resultados.append(ResultadoManifestacao(
                chave, tipo.nome, retorno.cstat, retorno.xmotivo, retorno.protocolo, registrada, erro,
                sequencias.get(chave, 1),
            ))  # fmt: skip
        _registrar_tentativas(certificado, tipo.nome, origem, resultados)
    return resultados


def _guardar(organizacao, evento: etree._Element, retorno: RetornoEvento) -> str:
    """Store `procEventoNFe` (our evento + SEFAZ's retEvento) through the import pipeline; "" or the error."""
    proc = etree.Element(N + "procEventoNFe", nsmap={None: NS_NFE}, versao="1.00")
    proc.append(_copia(evento))
    proc.append(etree.fromstring(retorno.xml))
    xml = etree.tostring(proc, xml_declaration=True, encoding="UTF-8")
    nome = f"manifestacao-{retorno.tipo_evento}-{retorno.chave}.xml"
    [resultado] = importar_bytes(organizacao=organizacao, nome=nome, conteudo=xml, origem=Origem.SEFAZ)
    if resultado.ok:
        return ""
    logger.error("manifestação %s de %s registrada na SEFAZ mas não gravada: %s", retorno.tipo_evento,
                 retorno.chave, resultado.mensagem)  # fmt: skip
    return f"registrada na SEFAZ (protocolo {retorno.protocolo}), mas não gravada aqui: {resultado.mensagem}"


def _copia(elemento: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(elemento))
