"""Stage one of the import: bytes in, a validated and verified document out. No database here.

Kept free of I/O so the CPU-bound part (parse, validate, verify) can be measured on its own and run
for a whole batch before a single short write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.models.documentos import OriginalComprimido

from .chave import ChaveInvalida, decompor_chave
from .dados import Assinatura, DadosCTe, DadosEvento, DadosNFe, DadosOutro, ResumoNFe
from .entrada import EntradaInvalida
from .leitura import DocumentoIncompleto, DocumentoNaoSuportado, Estrutura, ler_documento, localizar, localizar_desconhecido
from .signatario import conferir_autorizador, conferir_signatario, mesmo_titular
from .validacao import (
    TIPOS_CANCELAMENTO,
    DocumentoRejeitado,
    conferir_ambiente,
    conferir_chave,
    conferir_evento_registrado,
    conferir_protocolo,
    situacao_pelo_protocolo,
)
from .xml_seguro import ler_xml
from .xmldsig import AssinaturaInvalida, verificar_assinatura

logger = logging.getLogger(__name__)

ERROS_DE_CONTEUDO = (
    EntradaInvalida,
    DocumentoNaoSuportado,
    DocumentoIncompleto,
    DocumentoRejeitado,
    AssinaturaInvalida,
    ChaveInvalida,
)


@dataclass
class Preparado:
    """A document ready to be stored."""

    nome: str
    conteudo: bytes
    tipo_xml: str
    dados: DadosNFe | ResumoNFe | DadosCTe | DadosEvento
    assinatura: Assinatura | None
    situacao: str = ""  # for NF-e/CT-e: autorizada, denegada, sem_protocolo (summaries: see gravacao)
    nsu: int | None = None
    original: OriginalComprimido | None = None

    @property
    def chave(self) -> str:
        return self.dados.chave


@dataclass
class Falha:
    """A file that cannot be stored, and why."""

    nome: str
    mensagem: str
    chave: str = ""
    tipo_xml: str = ""
    nsu: int | None = None
    original: OriginalComprimido | None = None  # the bytes received, kept with the ImportLog
    tamanho: int | None = None  # of a file too big to keep: its size and SHA-256 are kept instead
    sha256: str = ""


def preparar(nome: str, conteudo: bytes, nsu: int | None = None) -> Preparado | Falha:
    tipo_xml, chave = "", ""
    try:
        raiz = ler_xml(conteudo, nome)
        # Located once: the reader reads and the verifier verifies this very structure's nodes.
        try:
            estrutura = localizar(raiz)
        except DocumentoNaoSuportado as erro:
            estrutura = localizar_desconhecido(raiz, erro)  # a signed DF-e of a kind not known yet
        tipo_xml = estrutura.tipo
        dados = ler_documento(estrutura)
        chave = dados.chave
        assinatura, situacao = _validar(estrutura, dados)
    except ERROS_DE_CONTEUDO as erro:
        # EntradaInvalida's str() repeats the file name, which the log already has in `arquivo`.
        motivo = getattr(erro, "motivo", None) or str(erro)
        return Falha(nome, motivo, chave=chave, tipo_xml=tipo_xml, nsu=nsu)
    except Exception as erro:  # a bug must cost one file, not the batch
        logger.exception("erro inesperado ao ler %s", nome)
        return Falha(nome, f"erro interno ao ler o documento: {type(erro).__name__}: {erro}", chave, tipo_xml, nsu)
    # Compressing here keeps the write transaction short and lets parallel imports share the cost.
    return Preparado(nome, conteudo, tipo_xml, dados, assinatura, situacao, nsu, OriginalComprimido.de_bytes(conteudo))


def _validar(estrutura: Estrutura, dados) -> tuple[Assinatura | None, str]:
    if isinstance(dados, (DadosNFe, DadosCTe, DadosOutro)):
        return _validar_documento(estrutura, dados)
    if isinstance(dados, ResumoNFe):
        decompor_chave(dados.chave)
        return None, ""
    return _validar_evento(estrutura, dados)


def _validar_documento(estrutura: Estrutura, dados: DadosNFe | DadosCTe | DadosOutro) -> tuple[Assinatura, str]:
    conferir_chave(
        dados.chave,
        codigo_uf=dados.codigo_uf,
        data_emissao=dados.data_emissao,
        emitente_documento=dados.emitente.documento,
        modelo=dados.modelo,
        serie=dados.serie,
        numero=dados.numero,
        tipo_emissao=dados.tipo_emissao,
        codigo_numerico=dados.codigo_numerico,
        digito_verificador=dados.digito_verificador,
    )
    if dados.protocolo and dados.protocolo.chave != dados.chave:
        conferir_protocolo(dados.chave, dados.protocolo, None)
    conferir_ambiente(dados.ambiente)
    assinatura = verificar_assinatura(estrutura.assinado, conferir_ids=False)
    assinatura = conferir_signatario(
        assinatura,
        titular=dados.emitente.documento,
        papel="emitente",
        # SEFAZ checks the certificate when it receives the document (dhRecbto); without a protocol, dhEmi.
        momento=(dados.protocolo.data_recebimento if dados.protocolo else None) or dados.data_emissao,
        cnpj_paa=dados.cnpj_paa,
    )
    conferir_protocolo(dados.chave, dados.protocolo, assinatura)
    return assinatura, situacao_pelo_protocolo(dados.protocolo)


def _validar_evento(estrutura: Estrutura, dados: DadosEvento) -> tuple[Assinatura | None, str]:
    partes = decompor_chave(dados.chave)
    conferir_ambiente(dados.ambiente)
    if estrutura.tipo in ("retCancNFe", "retCancCTe"):
        # SEFAZ's answer alone: its own signature is optional; when present it must verify.
        conferir_evento_registrado(dados.protocolo, dados.chave)
        if estrutura.assinatura is None:
            return None, ""
        assinatura = verificar_assinatura(estrutura.assinado, conferir_ids=False)
        return conferir_autorizador(assinatura, momento=dados.data_evento), ""
    if not dados.completo:
        return None, ""
    _conferir_id_evento(estrutura, dados)
    assinatura = verificar_assinatura(estrutura.assinado, conferir_ids=False)
    if dados.tipo_evento in TIPOS_CANCELAMENTO and not _mesmo_emitente(dados.autor_documento, partes.cnpj_emitente):
        raise DocumentoRejeitado(
            f"cancelamento pedido por {dados.autor_documento}, que não é o emitente da chave {dados.chave} "
            f"({partes.cnpj_emitente}): só o emitente cancela um documento"
        )
    assinatura = conferir_signatario(
        assinatura,
        titular=dados.autor_documento,
        papel="autor do evento",
        momento=dados.data_evento,
        cnpj_paa=dados.cnpj_paa,
    )
    conferir_evento_registrado(dados.protocolo, dados.chave)
    return assinatura, ""


def _conferir_id_evento(estrutura: Estrutura, dados: DadosEvento) -> None:
    if estrutura.tipo in ("procCancNFe", "procCancCTe"):
        esperados = {dados.chave}  # infCanc/@Id = "ID" + chave
    else:
        # NF-e events pad nSeqEvento to 2 digits in the Id; CT-e 4.00 events pad it to 3.
        esperados = {f"{dados.tipo_evento}{dados.chave}{dados.sequencia:0{n}d}" for n in (2, 3)}
    if dados.id_evento and dados.id_evento not in esperados:
        raise DocumentoRejeitado(
            f"Id do evento ID{dados.id_evento} não confere com tpEvento {dados.tipo_evento}, "
            f"chave {dados.chave} e nSeqEvento {dados.sequencia}"
        )


def _mesmo_emitente(autor: str, cnpj_da_chave: str) -> bool:
    """The event's author (CNPJ or CPF) is the emitter packed in the key (CNPJ base, or "000" + CPF)."""
    cnpj, cpf = (autor, "") if len(autor) == 14 else ("", autor)
    return mesmo_titular(cnpj, cpf, cnpj_da_chave)
