"""What the readers extract from a fiscal XML, before anything touches the database.

These dataclasses are the contract between the XML readers (`core.documentos.leitura`) and the
import pipeline (`core.documentos.importacao`). Values are already normalised: decimals are
`Decimal`, timestamps are timezone-aware `datetime`, documents (CNPJ/CPF) carry digits/letters only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ZERO = Decimal("0.00")


class TipoDocumentoParte:
    CNPJ = "cnpj"
    CPF = "cpf"
    ESTRANGEIRO = "estrangeiro"
    NENHUM = ""


@dataclass(frozen=True)
class Parte:
    """A party of the document: emitente, destinatário, remetente, tomador..."""

    documento: str = ""  # CNPJ (14, may be alphanumeric), CPF (11) or idEstrangeiro
    tipo_documento: str = TipoDocumentoParte.NENHUM
    nome: str = ""
    uf: str = ""
    ie: str = ""
    codigo_municipio: str = ""
    municipio: str = ""


@dataclass(frozen=True)
class Assinatura:
    """The XMLDSig facts the pipeline needs after verification."""

    digest_value: str  # base64 DigestValue of the signed element
    certificado_der: bytes = b""
    intermediarios_der: tuple[bytes, ...] = ()  # any further X509Certificate in KeyInfo (never trusted alone)
    estado: str = "valida"  # EstadoAssinatura: valida (ICP-Brasil chain) or cadeia_desconhecida
    motivo_cadeia: str = ""  # why the chain was not confirmed, for people


@dataclass(frozen=True)
class Protocolo:
    """protNFe/protCTe/retEvento infProt: SEFAZ's answer about the document."""

    chave: str
    codigo_status: int  # cStat
    motivo: str = ""  # xMotivo
    numero: str = ""  # nProt
    data_recebimento: datetime | None = None  # dhRecbto
    digest_value: str = ""  # digVal
    ambiente: int | None = None  # tpAmb


@dataclass
class ItemNFe:
    numero: int  # det/@nItem
    codigo: str  # cProd
    descricao: str  # xProd
    ncm: str = ""
    cfop: str = ""
    unidade: str = ""  # uCom
    quantidade: Decimal = ZERO  # qCom
    valor_unitario: Decimal = ZERO  # vUnCom
    valor_total: Decimal = ZERO  # vProd
    valor_desconto: Decimal = ZERO  # vDesc
    valor_icms: Decimal = ZERO  # imposto/ICMS/*/vICMS
    valor_ipi: Decimal = ZERO  # imposto/IPI/IPITrib/vIPI
    ean: str = ""  # cEAN ("SEM GTIN" kept as is)
    # The reform (core.documentos.leitura.reforma): NULL/"" where the item has no such group.
    valor_item: Decimal | None = None  # det/vItem
    cst_ibs_cbs: str = ""
    classificacao_tributaria: str = ""
    valor_bc_ibs_cbs: Decimal | None = None
    aliquota_ibs_uf: Decimal | None = None
    valor_ibs_uf: Decimal | None = None
    aliquota_ibs_mun: Decimal | None = None
    valor_ibs_mun: Decimal | None = None
    valor_ibs: Decimal | None = None
    aliquota_cbs: Decimal | None = None
    valor_cbs: Decimal | None = None
    cst_is: str = ""
    classificacao_tributaria_is: str = ""
    valor_bc_is: Decimal | None = None
    aliquota_is: Decimal | None = None
    valor_is: Decimal | None = None
    tributos_reforma: dict = field(default_factory=dict)


@dataclass
class DadosNFe:
    """A full NF-e (mod 55) or NFC-e (mod 65): bare `NFe` or `nfeProc`."""

    chave: str
    modelo: str  # "55" or "65"
    serie: int
    numero: int
    data_emissao: datetime
    natureza_operacao: str
    tipo_operacao: str  # "entrada" (tpNF=0) or "saida" (tpNF=1)
    ambiente: int  # tpAmb
    emitente: Parte
    destinatario: Parte | None
    valor_nf: Decimal  # ICMSTot/vNF
    valor_produtos: Decimal  # vProd
    valor_icms: Decimal
    valor_ipi: Decimal
    valor_frete: Decimal
    valor_desconto: Decimal
    itens: list[ItemNFe]
    protocolo: Protocolo | None  # None for a bare NFe
    data_saida_entrada: datetime | None = None
    codigo_uf: str = ""  # ide/cUF
    tipo_emissao: str = ""  # ide/tpEmis
    codigo_numerico: str = ""  # ide/cNF
    digito_verificador: str = ""  # ide/cDV
    cnpj_paa: str = ""  # infPAA/CNPJPAA: signed by a Provedor de Assinatura e Autorização, not the emitter
    finalidade: int | None = None  # ide/finNFe
    # total/IBSCBSTot, ISTot, vNFTot as NFe fields (leitura.reforma.CAMPOS_TOTAL_NFE); empty before the reform.
    tributos: dict = field(default_factory=dict)


@dataclass
class ResumoNFe:
    """resNFe: the summary SEFAZ distributes before the recipient manifests."""

    chave: str
    emitente: Parte  # CNPJ|CPF, xNome, IE of the emitter
    data_emissao: datetime
    tipo_operacao: str  # "entrada" / "saida"
    valor_total: Decimal
    digest_value: str
    protocolo_numero: str
    data_recebimento: datetime | None
    situacao_nfe: int  # cSitNFe: 1 autorizada, 2 denegada, 3 cancelada


@dataclass
class DadosCTe:
    """A CT-e (mod 57, `cteProc`/bare `CTe`) or CT-e OS (mod 67, `cteOSProc`)."""

    chave: str
    modelo: str  # "57" or "67"
    serie: int
    numero: int
    data_emissao: datetime
    natureza_operacao: str
    cfop: str
    ambiente: int
    tipo_cte: str  # tpCTe
    modal: str  # "01".."06"
    tipo_servico: str  # tpServ
    emitente: Parte
    remetente: Parte | None
    destinatario: Parte | None
    expedidor: Parte | None
    recebedor: Parte | None
    tomador: Parte | None
    tomador_papel: str  # toma: 0 rem, 1 exped, 2 receb, 3 dest, 4 outros
    codigo_municipio_inicio: str
    municipio_inicio: str
    uf_inicio: str
    codigo_municipio_fim: str
    municipio_fim: str
    uf_fim: str
    valor_prestacao: Decimal  # vTPrest
    valor_receber: Decimal  # vRec
    valor_carga: Decimal  # infCarga/vCarga (0 when absent)
    valor_icms: Decimal
    chaves_nfe: list[str] = field(default_factory=list)  # infDoc/infNFe/chave
    # imp/IBSCBS and imp/vTotDFe as CTe fields (leitura.reforma.CAMPOS_CTE).
    tributos: dict = field(default_factory=dict)
    protocolo: Protocolo | None = None
    codigo_uf: str = ""
    tipo_emissao: str = ""
    codigo_numerico: str = ""  # cCT
    digito_verificador: str = ""
    cnpj_paa: str = ""  # infPAA/CNPJPAA


@dataclass
class DadosEvento:
    """An event of an NF-e or CT-e: full (`procEventoNFe`/`procEventoCTe`) or summary (`resEvento`)."""

    chave: str  # key of the document the event refers to
    tipo_documento: str  # "nfe" or "cte"
    tipo_evento: str  # tpEvento, e.g. "110111"
    sequencia: int  # nSeqEvento
    descricao: str  # descEvento / xEvento
    data_evento: datetime
    ambiente: int | None
    orgao: str  # cOrgao
    autor_documento: str  # CNPJ/CPF of the author
    completo: bool  # False for resEvento
    protocolo: Protocolo | None = None  # retEvento/infEvento (cStat 135/136/155...)
    detalhes: dict = field(default_factory=dict)  # xCorrecao, xJust, nProt, ... as strings
    id_evento: str = ""  # infEvento/@Id without "ID"
    cnpj_paa: str = ""  # infEvento/infPAA/CNPJPAA


@dataclass
class DadosOutro:
    """A DF-e read only in part (GTV-e, CT-e Simplificado): identity, emitter, value and protocol."""

    chave: str
    tipo: str  # OutroDocumento.Tipo: gtve, cte_simplificado
    modelo: str
    serie: int
    numero: int
    data_emissao: datetime
    natureza_operacao: str
    ambiente: int
    emitente: Parte
    valor_total: Decimal | None
    protocolo: Protocolo | None = None
    codigo_uf: str = ""
    tipo_emissao: str = ""
    codigo_numerico: str = ""
    digito_verificador: str = ""
    cnpj_paa: str = ""
