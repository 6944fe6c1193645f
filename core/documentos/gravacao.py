"""Stage two of the import: store a batch of prepared documents in one short transaction.

A batch loads the rows it may touch with three queries, decides for each document whether it is new,
a duplicate or an upgrade (summary -> full XML, bare -> with protocol, a cancellation), then writes
everything with bulk inserts. If the batch fails in the database (a concurrent importer stored the
same key first, a value the database refuses) it is split and every document is retried alone, so
one bad document never costs the others and never leaves half of itself behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction

from core import signals
from core.models import (
    ArquivoXML,
    CTe,
    EstadoAssinatura,
    EventoDocumento,
    ImportLog,
    NFe,
    NFeItem,
    Origem,
    OutroDocumento,
    Situacao,
    TipoDocumento,
)
from core.eventos.emissao import registrar_eventos
from core.tenancy import escopo, inserir_em_massa

from . import conflito
from .campos import campos_cte, campos_evento, campos_nfe, campos_outro, campos_resumo_nfe, limitar
from .dados import DadosCTe, DadosEvento, DadosNFe, DadosOutro, ResumoNFe
from .manifestacao_estado import TIPOS_DE_MANIFESTACAO, recalcular_manifestacoes
from .preparacao import Falha, Preparado
from .tipos_evento import aviso_do_tipo

logger = logging.getLogger(__name__)

SITUACAO_DO_RESUMO = {1: Situacao.RESUMO, 2: Situacao.DENEGADA, 3: Situacao.CANCELADA}
MENSAGEM_CANCELAMENTO_SEM_ASSINATURA = (
    "cancelamento sem assinatura (resumo) recebido fora da SEFAZ: guardado, mas o documento só é cancelado "
    "pelo evento assinado ou pela distribuição da SEFAZ"
)


_CAMPOS = {NFe: campos_nfe, CTe: campos_cte, OutroDocumento: campos_outro}


def campo_do_documento(documento) -> str:
    """The EventoDocumento foreign key that points at `documento`."""
    return {NFe: "nfe", CTe: "cte", OutroDocumento: "outro"}[type(documento)]


# An event is cancelled only by its own author (e110001_v1.00.xsd and NT 2025.002-RTC: "o mesmo autor do evento
# que está sendo cancelado"; likewise the CT-e cancellations of 610110 and 110180): anyone else's cancelling
# event, even validly signed, is stored and flags nothing.
_OUTRO_AUTOR = "não cancela o evento {alvo}: o autor dele é {autor}, o deste é {quem}"


def mesmo_autor(cancelador: EventoDocumento, cancelado: EventoDocumento) -> bool:
    """The same company (CNPJ base) or person (CPF) authored both events."""
    a, b = cancelador.autor_documento.upper(), cancelado.autor_documento.upper()
    if len(a) == 14 and len(b) == 14:
        return a[:8] == b[:8]
    return bool(a) and a == b


def sem_assinatura_cancela(origem: str) -> bool:
    """An unsigned cancellation (resEvento, resNFe cSitNFe 3, a bare retCancNFe) is believed only when it
    came from SEFAZ's distribution over mutual TLS: anyone can type one into a file."""
    return origem == Origem.SEFAZ


@dataclass
class Resultado:
    """What happened to one file: `sucesso`, `duplicado` or `erro`, with a message for people."""

    arquivo: str
    status: str
    mensagem: str
    chave: str = ""
    tipo_xml: str = ""
    documento: Any = None  # the NFe, CTe or EventoDocumento stored or found
    log: Any = None  # the ImportLog written for it

    @property
    def ok(self) -> bool:
        return self.status != ImportLog.Status.ERRO


def gravar(
    organizacao, itens: list[Preparado | Falha], *, origem: str, usuario=None, reprocessado_de=None
) -> list[Resultado]:
    """Store `itens` for `organizacao`; every item gets one Resultado and one ImportLog.

    `reprocessado_de`: the ImportLog these files were first imported under (core.documentos.reprocessamento).
    """
    if not itens:
        return []
    try:
        return _gravar_lote(organizacao, itens, origem, usuario, reprocessado_de)
    except (IntegrityError, DatabaseError) as erro:
        if len(itens) > 1:
            logger.info("lote de %s documentos falhou (%s); gravando um a um", len(itens), erro)
            return [
                r
                for item in itens
                for r in gravar(organizacao, [item], origem=origem, usuario=usuario, reprocessado_de=reprocessado_de)
            ]
        return _gravar_sozinho_apos_falha(organizacao, itens[0], origem, usuario, erro, reprocessado_de)


def _gravar_sozinho_apos_falha(organizacao, item, origem, usuario, erro, reprocessado_de) -> list[Resultado]:
    # An IntegrityError alone usually means another importer stored the same key a moment ago: a
    # second attempt sees that row and answers "duplicado". Anything else is this document's fault.
    if isinstance(erro, IntegrityError):
        try:
            return _gravar_lote(organizacao, [item], origem, usuario, reprocessado_de)
        except (IntegrityError, DatabaseError) as novo_erro:
            erro = novo_erro
    logger.warning("documento %s não pôde ser gravado: %s", item.nome, erro)
    mensagem = f"erro ao gravar no banco de dados: {erro}"
    recebido = {"tamanho": getattr(item, "tamanho", None), "sha256": getattr(item, "sha256", "")}
    falha = Falha(item.nome, mensagem, item.chave, item.tipo_xml, item.nsu, original=item.original, **recebido)
    return _gravar_lote(organizacao, [falha], origem, usuario, reprocessado_de)


def _gravar_lote(organizacao, itens, origem, usuario, reprocessado_de=None) -> list[Resultado]:
    with transaction.atomic():
        existentes = _Existentes.carregar(organizacao, itens)
        lote = _Lote(organizacao, origem, usuario, existentes, reprocessado_de=reprocessado_de)
        for item in itens:
            lote.aplicar(item)
        lote.salvar()
    return lote.resultados


@dataclass
class _Existentes:
    """The rows a batch may touch, loaded up front so deciding costs no query per document."""

    nfes: dict[str, NFe]
    ctes: dict[str, CTe]
    eventos: dict[tuple[str, str, int], EventoDocumento]
    outros: dict[str, OutroDocumento] = field(default_factory=dict)

    @classmethod
    def carregar(cls, organizacao, itens) -> _Existentes:
        chaves = {item.chave for item in itens if isinstance(item, Preparado)}
        if not chaves:
            return cls({}, {}, {})
        eventos = escopo(EventoDocumento, organizacao).filter(chave__in=chaves)
        return cls(
            nfes={n.chave: n for n in escopo(NFe, organizacao).filter(chave__in=chaves)},
            ctes=cls._do_leiaute_cte(CTe, DadosCTe, organizacao, itens),
            eventos={(e.chave, e.tipo_evento, e.sequencia): e for e in eventos},
            outros=cls._do_leiaute_cte(OutroDocumento, DadosOutro, organizacao, itens),
        )

    @staticmethod
    def _do_leiaute_cte(modelo, tipo_dados, organizacao, itens) -> dict:
        """The stored `modelo` rows for the batch's `tipo_dados` items and CT-e-layout events (GTV-e events
        included), the only ones that can touch them: an NF-e batch skips the query."""
        chaves = {
            item.chave for item in itens
            if isinstance(item, Preparado) and (
                isinstance(item.dados, tipo_dados)
                or (isinstance(item.dados, DadosEvento) and item.dados.tipo_documento == TipoDocumento.CTE)
            )
        }  # fmt: skip
        if not chaves:
            return {}
        return {d.chave: d for d in escopo(modelo, organizacao).filter(chave__in=chaves)}

    def cancelada_por_evento(self, chave: str) -> bool:
        return any(e.cancela_documento for (c, _, _), e in self.eventos.items() if c == chave)

    def eventos_orfaos(self, chave: str) -> list[EventoDocumento]:
        """Stored events of `chave` that arrived before their document."""
        return [
            e for (c, _, _), e in self.eventos.items() if c == chave and e.pk and not (e.nfe_id or e.cte_id or e.outro_id)
        ]


@dataclass
class _Lote:
    organizacao: Any
    origem: str
    usuario: Any
    existentes: _Existentes
    reprocessado_de: Any = None  # the ImportLog of the first attempt, when this batch reprocesses it
    arquivos: dict[str, ArquivoXML] = field(default_factory=dict)  # by SHA-256: one row per distinct file
    nfes_novas: list[NFe] = field(default_factory=list)
    ctes_novos: list[CTe] = field(default_factory=list)
    outros_novos: list[OutroDocumento] = field(default_factory=list)
    itens_novos: list[NFeItem] = field(default_factory=list)
    eventos_novos: list[EventoDocumento] = field(default_factory=list)
    atualizacoes: dict[int, tuple[Any, set[str]]] = field(default_factory=dict)
    orfaos_a_vincular: list[tuple[EventoDocumento, Any]] = field(default_factory=list)
    novos_sem_documento: dict[str, list[EventoDocumento]] = field(default_factory=dict)
    eventos_cancelados: dict[int, tuple[EventoDocumento, EventoDocumento]] = field(default_factory=dict)
    logs: list[ImportLog] = field(default_factory=list)
    sinais: list[tuple[Any, type, dict]] = field(default_factory=list)
    resultados: list[Resultado] = field(default_factory=list)

    # -- decisions ---------------------------------------------------------------------------

    def aplicar(self, item: Preparado | Falha) -> None:
        if isinstance(item, Falha):
            self._registrar(item, ImportLog.Status.ERRO, item.mensagem, None, item.chave)
            return
        dados = item.dados
        if isinstance(dados, DadosNFe):
            self._aplicar_documento(item, NFe, self.existentes.nfes, self.nfes_novas, "NF-e")
        elif isinstance(dados, DadosCTe):
            self._aplicar_documento(item, CTe, self.existentes.ctes, self.ctes_novos, "CT-e")
        elif isinstance(dados, ResumoNFe):
            self._aplicar_resumo(item)
        elif isinstance(dados, DadosOutro):
            self._aplicar_outro(item)
        else:
            self._aplicar_evento(item)

    def _aplicar_outro(self, item: Preparado) -> None:
        dados: DadosOutro = item.dados
        nome = OutroDocumento.Tipo(dados.tipo).label
        atual = self.existentes.outros.get(item.chave)
        if atual is None:
            documento = self._novo_documento(item, OutroDocumento)
            self.existentes.outros[item.chave] = documento
            self.outros_novos.append(documento)
            self._sinal(signals.documento_importado_signal, documento)
            self._vincular_orfaos(item.chave, documento)
            self._registrar(item, ImportLog.Status.SUCESSO, f"{nome} importado", documento)
            self._anunciar_se_chegou_cancelado(documento)
            return
        if atual.digest_value != item.assinatura.digest_value:
            mensagem = (
                f"conflito: o conteúdo difere do documento já guardado (assinatura: DigestValue "
                f"{atual.digest_value} → {item.assinatura.digest_value}); o guardado não mudou"
            )
            self._registrar(item, ImportLog.Status.ERRO, mensagem, atual)
            return
        if item.situacao == Situacao.CANCELADA and atual.situacao != Situacao.CANCELADA:
            self._cancelar(atual)
            self._registrar(item, ImportLog.Status.SUCESSO, f"{nome} cancelado (protocolo)", atual)
            return
        self._registrar(item, ImportLog.Status.DUPLICADO, f"{nome} já importado (chave {item.chave})", atual)

    def _aplicar_documento(self, item: Preparado, modelo, existentes: dict, novos: list, nome: str) -> None:
        atual = existentes.get(item.chave)
        if atual is None:
            documento = self._novo_documento(item, modelo)
            existentes[item.chave] = documento
            novos.append(documento)
            sinal = signals.nfe_importada_signal if modelo is NFe else signals.cte_importado_signal
            self._sinal(sinal, documento)
            self._vincular_orfaos(item.chave, documento)
            self._registrar(item, ImportLog.Status.SUCESSO, f"{nome} importada", documento)
            self._anunciar_se_chegou_cancelado(documento)
            return
        diferencas = conflito.diferencas(atual, item, lambda: self._quantidade_de_itens(atual))
        if diferencas:
            mensagem = f"conflito: o conteúdo difere do documento já guardado ({diferencas}); o guardado não mudou"
            self._registrar(item, ImportLog.Status.ERRO, mensagem, atual)
            return
        motivo = self._motivo_de_atualizacao(atual, item)
        if motivo is None:
            self._registrar(item, ImportLog.Status.DUPLICADO, f"{nome} já importada (chave {item.chave})", atual)
            return
        if motivo == "cancelada":
            # Same signed document, now with a protocol saying it was cancelled: only the state changes,
            # the stored file (with its authorization) stays the record; this file is kept in the log.
            self._cancelar(atual)
            mensagem = f"{nome} cancelada (protocolo cStat {item.dados.protocolo.codigo_status})"
            self._registrar(item, ImportLog.Status.SUCESSO, mensagem, atual)
            return
        self._completar(atual, item, modelo)
        mensagem = {"xml_completo": "resumo substituído pelo XML completo", "protocolo": "protocolo de autorização anexado"}
        self._registrar(item, ImportLog.Status.SUCESSO, f"{nome} atualizada: {mensagem[motivo]}", atual)
        if atual.pk:
            self._sinal(signals.documento_atualizado_signal, atual, motivo=motivo, campos=["completa", "situacao"])

    @staticmethod
    def _motivo_de_atualizacao(atual, item: Preparado) -> str | None:
        """What the same signed document brings that the stored one lacks; None when nothing."""
        if not atual.completa:
            return "xml_completo"
        if atual.situacao == Situacao.SEM_PROTOCOLO and item.situacao != Situacao.SEM_PROTOCOLO:
            return "protocolo"
        if item.situacao == Situacao.CANCELADA and atual.situacao != Situacao.CANCELADA:
            return "cancelada"
        return None

    def _quantidade_de_itens(self, documento) -> int | None:
        if not isinstance(documento, NFe):
            return None
        if documento.pk is None:
            return sum(1 for item in self.itens_novos if item.nfe is documento)
        return escopo(NFeItem, self.organizacao).filter(nfe=documento).count()

    def _anunciar_se_chegou_cancelado(self, documento) -> None:
        # Every cancellation is announced the same way, whichever arrived first: the document or it.
        if documento.situacao == Situacao.CANCELADA:
            self._sinal(signals.documento_atualizado_signal, documento, motivo="cancelada", campos=["situacao"])

    def _novo_documento(self, item: Preparado, modelo):
        campos = _CAMPOS[modelo](item.dados)
        documento = modelo(organizacao=self.organizacao, **campos, **self._proveniencia(item))
        if modelo is OutroDocumento:
            documento.tipo_xml = item.tipo_xml
        documento.situacao = item.situacao
        documento.completa = True
        documento.assinatura = item.assinatura.estado
        documento.digest_value = item.assinatura.digest_value
        if self.existentes.cancelada_por_evento(item.chave):
            documento.situacao = Situacao.CANCELADA
        if modelo is NFe:
            self._novos_itens(documento, item.dados)
        return documento

    def _completar(self, documento, item: Preparado, modelo) -> None:
        campos = campos_nfe(item.dados) if modelo is NFe else campos_cte(item.dados)
        cancelada = documento.situacao == Situacao.CANCELADA
        proveniencia = self._proveniencia(item)
        if proveniencia["nsu"] is None:  # keep the NSU the summary came with
            del proveniencia["nsu"]
        for nome, valor in {**campos, **proveniencia}.items():
            setattr(documento, nome, valor)
        documento.situacao = Situacao.CANCELADA if cancelada else item.situacao
        documento.completa = True
        documento.assinatura = item.assinatura.estado
        documento.digest_value = item.assinatura.digest_value
        self._atualizar(documento, [*campos, "arquivo", "origem", "nsu", "situacao", "completa", "assinatura", "digest_value"])
        if modelo is NFe:
            if documento.pk:
                escopo(NFeItem, self.organizacao).filter(nfe=documento).delete()
            elif documento in self.nfes_novas:
                self.itens_novos = [i for i in self.itens_novos if i.nfe is not documento]
            self._novos_itens(documento, item.dados)

    def _aplicar_resumo(self, item: Preparado) -> None:
        dados: ResumoNFe = item.dados
        situacao = SITUACAO_DO_RESUMO.get(dados.situacao_nfe, Situacao.RESUMO)
        atual = self.existentes.nfes.get(item.chave)
        if atual is None:
            nfe = NFe(organizacao=self.organizacao, **campos_resumo_nfe(dados), **self._proveniencia(item))
            nfe.situacao = Situacao.CANCELADA if self.existentes.cancelada_por_evento(item.chave) else situacao
            nfe.completa = False
            nfe.assinatura = EstadoAssinatura.AUSENTE
            self.existentes.nfes[item.chave] = nfe
            self.nfes_novas.append(nfe)
            self._sinal(signals.nfe_importada_signal, nfe)
            self._vincular_orfaos(item.chave, nfe)
            self._registrar(item, ImportLog.Status.SUCESSO, "resumo de NF-e importado (aguardando XML completo)", nfe)
            self._anunciar_se_chegou_cancelado(nfe)
        elif situacao == Situacao.CANCELADA and atual.situacao != Situacao.CANCELADA:
            if not sem_assinatura_cancela(self.origem):
                self._registrar(item, ImportLog.Status.DUPLICADO, MENSAGEM_CANCELAMENTO_SEM_ASSINATURA, atual)
                return
            self._cancelar(atual)
            self._registrar(item, ImportLog.Status.SUCESSO, "NF-e marcada como cancelada pelo resumo", atual)
        else:
            self._registrar(item, ImportLog.Status.DUPLICADO, f"NF-e já importada (chave {item.chave})", atual)

    def _aplicar_evento(self, item: Preparado) -> None:
        dados: DadosEvento = item.dados
        identidade = (dados.chave, dados.tipo_evento, dados.sequencia)
        atual = self.existentes.eventos.get(identidade)
        if atual is not None and (atual.completo or not dados.completo):
            digest = item.assinatura.digest_value if item.assinatura else ""
            if atual.completo and atual.digest_value and digest and digest != atual.digest_value:
                mensagem = (
                    f"conflito: o conteúdo difere do evento {dados.tipo_evento} (sequência {dados.sequencia}) "
                    "já guardado (assinatura de outro conteúdo); o guardado não mudou"
                )
                self._registrar(item, ImportLog.Status.ERRO, mensagem, atual)
                return
            self._registrar(item, ImportLog.Status.DUPLICADO, f"evento {dados.tipo_evento} já importado", atual)
            return
        documento = self._documento_do_evento(dados)
        if atual is None:
            atual = EventoDocumento(organizacao=self.organizacao, **campos_evento(dados), **self._proveniencia(item))
            self.existentes.eventos[identidade] = atual
            self.eventos_novos.append(atual)
            mensagem = f"evento {dados.tipo_evento} ({dados.descricao}) importado"
        else:
            for nome, valor in {**campos_evento(dados), **self._proveniencia(item)}.items():
                setattr(atual, nome, valor)
            self._atualizar(atual, [*campos_evento(dados), "arquivo", "origem", "nsu"])
            mensagem = f"resumo do evento {dados.tipo_evento} substituído pelo evento completo"
        atual.assinatura = item.assinatura.estado if item.assinatura else EstadoAssinatura.AUSENTE
        atual.digest_value = item.assinatura.digest_value if item.assinatura else ""
        self._atualizar(atual, ["assinatura", "digest_value"])
        mensagem += aviso_do_tipo(dados.tipo_documento, dados.tipo_evento, dados.detalhes)
        mensagem += self._cancelamento_de_evento(atual)
        if documento is not None:
            campo = campo_do_documento(documento)
            setattr(atual, campo, documento)
            self._atualizar(atual, [campo])
            self._efeito_no_documento(atual, documento)
        elif atual.pk is None:
            self.novos_sem_documento.setdefault(dados.chave, []).append(atual)
        if atual.categoria == EventoDocumento.Categoria.CANCELAMENTO and not atual.cancela_documento:
            mensagem += f"; {MENSAGEM_CANCELAMENTO_SEM_ASSINATURA}"
        self._registrar(item, ImportLog.Status.SUCESSO, mensagem, atual)

    def _documento_do_evento(self, dados: DadosEvento):
        if dados.tipo_documento == TipoDocumento.NFE:
            return self.existentes.nfes.get(dados.chave)
        # GTV-e and CT-e Simplificado events use the CT-e event layout (procEventoCTe).
        return self.existentes.ctes.get(dados.chave) or self.existentes.outros.get(dados.chave)

    def _efeito_no_documento(self, evento: EventoDocumento, documento) -> None:
        if evento.cancela_documento and documento.situacao != Situacao.CANCELADA:
            self._cancelar(documento)
        elif documento.pk:
            self._sinal(signals.documento_atualizado_signal, documento, motivo="evento", campos=["eventos"])

    def _cancelamento_de_evento(self, evento: EventoDocumento) -> str:
        """Flag the event that `evento` cancels (110001...), or `evento` itself when the event cancelling
        it came first; never the document. The text goes to the ImportLog."""
        alvo = evento.evento_que_cancela()
        if alvo is not None:
            eventos = self._eventos_da_chave(evento.chave)
            cancelado = next((e for e in eventos if (e.tipo_evento, e.protocolo) == alvo), None)
            if cancelado is None:
                return f"; cancela o evento {alvo[0]} de protocolo {alvo[1]}, ainda não recebido"
            if not mesmo_autor(evento, cancelado):
                return f"; {_OUTRO_AUTOR.format(alvo=alvo[0], autor=cancelado.autor_documento, quem=evento.autor_documento)}"
            self._marcar_cancelado(cancelado, evento)
            return f"; evento {alvo[0]} (protocolo {alvo[1]}) marcado como cancelado"
        identidade = (evento.tipo_evento, evento.protocolo)
        eventos = self._eventos_da_chave(evento.chave) if evento.protocolo else []
        cancelador = next((e for e in eventos if e.evento_que_cancela() == identidade), None)
        if cancelador is None:
            return ""
        if not mesmo_autor(cancelador, evento):
            return f"; {_OUTRO_AUTOR.format(alvo=evento.tipo_evento, autor=evento.autor_documento, quem=cancelador.autor_documento)}"
        self._marcar_cancelado(evento, cancelador)
        return f"; já cancelado pelo evento {cancelador.tipo_evento} (protocolo {cancelador.protocolo})"

    def _eventos_da_chave(self, chave: str) -> list[EventoDocumento]:
        return [e for (c, _, _), e in self.existentes.eventos.items() if c == chave]

    def _marcar_cancelado(self, evento: EventoDocumento, cancelador: EventoDocumento) -> None:
        # Linked after the batch's events are inserted (either may be new): see _salvar_eventos_cancelados.
        if evento.cancelado_por_id is None:
            self.eventos_cancelados.setdefault(id(evento), (evento, cancelador))

    def _cancelar(self, documento) -> None:
        documento.situacao = Situacao.CANCELADA
        self._atualizar(documento, ["situacao"])
        if documento.pk:
            self._sinal(signals.documento_atualizado_signal, documento, motivo="cancelada", campos=["situacao"])

    # -- bookkeeping -------------------------------------------------------------------------

    def _proveniencia(self, item: Preparado) -> dict:
        return {"arquivo": self._arquivo(item.original), "origem": self.origem, "nsu": item.nsu}

    def _arquivo(self, original) -> ArquivoXML:
        """The row keeping these bytes: the document and its ImportLog share it (one copy, not two)."""
        arquivo = self.arquivos.get(original.sha256)
        if arquivo is None:
            arquivo = self.arquivos[original.sha256] = ArquivoXML.de_original(self.organizacao, original)
        return arquivo

    def _novos_itens(self, nfe: NFe, dados: DadosNFe) -> None:
        self.itens_novos.extend(
            NFeItem(organizacao=self.organizacao, nfe=nfe, **limitar(NFeItem, vars(item))) for item in dados.itens
        )

    def _vincular_orfaos(self, chave: str, documento) -> None:
        """Link the events that came before `documento` (called after its import signal, so the feed
        says "imported" before "updated")."""
        orfaos = self.existentes.eventos_orfaos(chave)
        for evento in orfaos:
            self.orfaos_a_vincular.append((evento, documento))
        # Events earlier in this same batch are not inserted yet: setting the relation is enough.
        for evento in self.novos_sem_documento.pop(chave, []):
            setattr(evento, campo_do_documento(documento), documento)
        if orfaos:
            # Events stored before their document reach the feed and webhooks now, with it.
            tipos = sorted({evento.tipo_evento for evento in orfaos})
            self._sinal(signals.documento_atualizado_signal, documento, motivo="evento", campos=["eventos"], eventos=tipos)

    def _atualizar(self, objeto, campos) -> None:
        """Queue an UPDATE of a row that already exists; new rows are simply inserted later."""
        if objeto.pk is None:
            return
        _, pendentes = self.atualizacoes.setdefault(id(objeto), (objeto, set()))
        pendentes.update(campos)

    def _sinal(self, sinal, documento, **extra) -> None:
        self.sinais.append((sinal, documento, extra))

    def _registrar(self, item, status: str, mensagem: str, documento=None, chave: str = "") -> None:
        original = item.original
        log = ImportLog(
            organizacao=self.organizacao,
            arquivo=item.nome[-500:],
            chave=chave or getattr(item, "chave", ""),
            tipo_xml=item.tipo_xml,
            status=status,
            mensagem=mensagem,
            origem=self.origem,
            nsu=item.nsu,
            usuario=self.usuario,
            reprocessado_de=self.reprocessado_de,
            # Every attempt keeps what it received (or, over the size limits, its size and SHA-256).
            xml=self._arquivo(original) if original else None,
            tamanho=original.tamanho if original else getattr(item, "tamanho", None),
            sha256=original.sha256 if original else getattr(item, "sha256", ""),
        )
        self.logs.append(log)
        self.resultados.append(Resultado(item.nome, status, mensagem, log.chave, item.tipo_xml, documento, log))

    # -- writing -----------------------------------------------------------------------------

    def salvar(self) -> None:
        self._esquecer_arquivos_guardados()
        # Every new row of the batch in bulk (core.escrita_em_massa: COPY on PostgreSQL), before the updates,
        # which may point an existing row at one of them (a summary upgraded to this batch's file).
        inserir_em_massa(self.organizacao, [
            (ArquivoXML, list(self.arquivos.values())),
            (NFe, self.nfes_novas),
            (CTe, self.ctes_novos),
            (OutroDocumento, self.outros_novos),
            (NFeItem, self.itens_novos),
            (EventoDocumento, self.eventos_novos),
            (ImportLog, self.logs),
        ])  # fmt: skip
        for objeto, campos in self.atualizacoes.values():
            objeto.save(update_fields=sorted(campos | {"atualizado_em"}))
        self._salvar_vinculos_de_orfaos()
        self._salvar_eventos_cancelados()
        self._recalcular_manifestacoes()
        # The events are written in this same transaction: a committed change always has its event.
        registrar_eventos(self.organizacao, self._eventos())
        for sinal, documento, extra in self.sinais:
            signals.enviar_apos_commit(
                sinal, type(documento), instance=documento, organizacao=self.organizacao, **extra
            )
        for log in self.logs:
            if log.status == ImportLog.Status.ERRO:
                signals.enviar_apos_commit(
                    signals.import_log_signal, ImportLog, instance=log, organizacao=self.organizacao
                )

    def _esquecer_arquivos_guardados(self) -> None:
        """Leave out of the insert the batch's files already stored: a reprocess, a repeated upload or a
        failure later stored as a document points at the bytes kept the first time."""
        if not self.arquivos:
            return
        guardados = escopo(ArquivoXML, self.organizacao).filter(sha256__in=list(self.arquivos))
        for sha256, pk in guardados.values_list("sha256", "pk"):
            arquivo = self.arquivos.pop(sha256, None)
            if arquivo is not None:  # the rows built from it take the stored pk when they are saved
                arquivo.pk, arquivo._state.adding, arquivo._state.db = pk, False, guardados.db

    def _eventos(self) -> list[tuple[str, dict]]:
        erros = [(signals.import_log_signal, log, {}) for log in self.logs if log.status == ImportLog.Status.ERRO]
        return signals.eventos_dos_sinais(self.sinais + erros)

    def _recalcular_manifestacoes(self) -> None:
        """The manifestation state of the NF-e whose manifestation events this batch stored or linked."""
        chaves = {chave for chave, tipo, _ in self.existentes.eventos if tipo in TIPOS_DE_MANIFESTACAO}
        nfes = [self.existentes.nfes[chave] for chave in chaves if chave in self.existentes.nfes]
        for nfe in recalcular_manifestacoes(self.organizacao, nfes):
            if any(nova is nfe for nova in self.nfes_novas):
                continue  # its nfe_importada event, built after this, already shows the state
            anunciado = next((x for _, d, x in self.sinais if d is nfe and x.get("motivo") == "evento"), None)
            if anunciado is not None:
                anunciado["campos"] = [*anunciado["campos"], "manifestacao"]
            else:
                self._sinal(signals.documento_atualizado_signal, nfe, motivo="evento", campos=["manifestacao"])

    def _salvar_eventos_cancelados(self) -> None:
        for evento, cancelador in self.eventos_cancelados.values():
            evento.cancelado_por = cancelador
            evento.save(update_fields=["cancelado_por", "atualizado_em"])

    def _salvar_vinculos_de_orfaos(self) -> None:
        for evento, documento in self.orfaos_a_vincular:
            campo = campo_do_documento(documento)
            setattr(evento, campo, documento)
            evento.save(update_fields=[campo, "atualizado_em"])
