"""Stage one of the import: bytes in, a validated and verified document out. No database here.

Kept free of I/O so the CPU-bound part (parse, validate, verify) can be measured on its own and run
for a whole batch before a single short write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.models.documentos import OriginalComprimido

from .chave import ChaveInvalida, decompor_chave
from .dados import Assinatura, DadosCTe, DadosEvento, DadosNFe, ResumoNFe
from .entrada import EntradaInvalida, ler_xml
from .leitura import (
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    elemento_assinado,
    identificar,
    ler_cte,
    ler_evento,
    ler_nfe,
    ler_resumo_nfe,
)
from .validacao import (
    DocumentoRejeitado,
    conferir_ambiente,
    conferir_chave,
    conferir_evento_registrado,
    conferir_protocolo,
    situacao_pelo_protocolo,
)
from .xmldsig import AssinaturaInvalida, verificar_assinatura

logger = logging.getLogger(__name__)

LEITORES = {
    "nfeProc": ler_nfe,
    "NFe": ler_nfe,
    "resNFe": ler_resumo_nfe,
    "cteProc": ler_cte,
    "cteOSProc": ler_cte,
    "CTeOS": ler_cte,
    "CTe": ler_cte,
    "resEvento": ler_evento,
    "procEventoNFe": ler_evento,
    "procEventoCTe": ler_evento,
}

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


def preparar(nome: str, conteudo: bytes, nsu: int | None = None) -> Preparado | Falha:
    tipo_xml, chave = "", ""
    try:
        raiz = ler_xml(conteudo, nome)
        tipo_xml = identificar(raiz)
        dados = LEITORES[tipo_xml](raiz)
        chave = dados.chave
        assinatura, situacao = _validar(raiz, dados)
    except ERROS_DE_CONTEUDO as erro:
        # EntradaInvalida's str() repeats the file name, which the log already has in `arquivo`.
        motivo = getattr(erro, "motivo", None) or str(erro)
        return Falha(nome, motivo, chave=chave, tipo_xml=tipo_xml, nsu=nsu)
    except Exception as erro:  # a bug must cost one file, not the batch
        logger.exception("erro inesperado ao ler %s", nome)
        return Falha(nome, f"erro interno ao ler o documento: {type(erro).__name__}: {erro}", chave, tipo_xml, nsu)
    # Compressing here keeps the write transaction short and lets parallel imports share the cost.
    return Preparado(nome, conteudo, tipo_xml, dados, assinatura, situacao, nsu, OriginalComprimido.de_bytes(conteudo))


def _validar(raiz, dados) -> tuple[Assinatura | None, str]:
    if isinstance(dados, (DadosNFe, DadosCTe)):
        return _validar_documento(raiz, dados)
    if isinstance(dados, ResumoNFe):
        decompor_chave(dados.chave)
        return None, ""
    return _validar_evento(raiz, dados)


def _validar_documento(raiz, dados: DadosNFe | DadosCTe) -> tuple[Assinatura, str]:
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
    assinatura = verificar_assinatura(elemento_assinado(raiz))
    conferir_protocolo(dados.chave, dados.protocolo, assinatura)
    return assinatura, situacao_pelo_protocolo(dados.protocolo)


def _validar_evento(raiz, dados: DadosEvento) -> tuple[Assinatura | None, str]:
    decompor_chave(dados.chave)
    conferir_ambiente(dados.ambiente)
    if not dados.completo:
        return None, ""
    # NF-e events pad nSeqEvento to 2 digits in the Id; CT-e 4.00 events pad it to 3.
    esperados = {f"{dados.tipo_evento}{dados.chave}{dados.sequencia:0{n}d}" for n in (2, 3)}
    if dados.id_evento and dados.id_evento not in esperados:
        raise DocumentoRejeitado(
            f"Id do evento ID{dados.id_evento} não confere com tpEvento {dados.tipo_evento}, "
            f"chave {dados.chave} e nSeqEvento {dados.sequencia}"
        )
    assinatura = verificar_assinatura(elemento_assinado(raiz))
    conferir_evento_registrado(dados.protocolo, dados.chave)
    return assinatura, ""
