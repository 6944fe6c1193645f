"""The NF-e and CT-e event types of the official schemas: code, name, meaning, category, author, schema.

Facts come from the schema files named in `esquema` (NF-e: package PL_010_V1.30, one `e<tpEvento>_v1.00.xsd`
per event, whose descEvento enumeration gives the official text; CT-e: PL_CTe_400 with the reform update,
whose `ev*_v4.00.xsd` state the tpEvento in their annotation). `nome` is the descEvento shown with its
accents; `descricoes` are the descEvento values the schema accepts. An event type outside this catalogue is
still stored, with category "outro" and the name "Evento <code>".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.db import models

NFE, CTE = "nfe", "cte"  # core.models.TipoDocumento values (this module must not import the models)


class Categoria(models.TextChoices):
    CANCELAMENTO = "cancelamento", "Cancelamento"
    CARTA_CORRECAO = "carta_correcao", "Carta de correção"
    MANIFESTACAO = "manifestacao", "Manifestação do destinatário"
    DESACORDO = "desacordo", "Prestação em desacordo (tomador)"
    CANCELAMENTO_EVENTO = "cancelamento_evento", "Cancelamento de evento"
    REFORMA_TRIBUTARIA = "reforma_tributaria", "Reforma tributária (IBS, CBS)"
    ENTREGA = "entrega", "Entrega"
    CONTINGENCIA = "contingencia", "Contingência (EPEC)"
    PAGAMENTO = "pagamento", "Pagamento"
    TRANSPORTE = "transporte", "Transporte"
    PRORROGACAO = "prorrogacao", "Prorrogação da suspensão do ICMS"
    ORGAO_PUBLICO = "orgao_publico", "Registro de órgão público (RFB, SUFRAMA)"
    OUTRO = "outro", "Outro"


class Autor(models.TextChoices):
    """Who signs the event (tpAutor of the schema where it has one: 1 emitente, 2 destinatária, 5 Fisco,
    6 RFB, 8 sucessora)."""

    EMITENTE = "emitente", "Emitente"
    DESTINATARIO = "destinatario", "Destinatário"
    EMITENTE_OU_DESTINATARIO = "emitente_ou_destinatario", "Emitente ou destinatário"
    PARTES_DA_NFE = "partes_da_nfe", "Emitente, destinatário ou transportador"
    TOMADOR = "tomador", "Tomador do serviço"
    SUCESSORA = "sucessora", "Empresa sucessora"
    FISCO = "fisco", "Fisco"
    RFB = "rfb", "Receita Federal"
    SUFRAMA = "suframa", "SUFRAMA"
    AUTOR_DO_EVENTO = "autor_do_evento", "O autor do evento cancelado"
    NAO_FIXADO = "nao_fixado", "Não fixado no esquema"


@dataclass(frozen=True)
class TipoEvento:
    codigo: str
    documento: str  # "nfe" or "cte"
    nome: str
    significado: str
    categoria: str
    autor: str
    esquema: str
    descricoes: tuple[str, ...]  # descEvento as the schema enumerates it
    # An event that cancels another one: the types it may cancel and the detEvento leaf with the protocol
    # of the cancelled event (110001 names the type too, in tpEventoAut).
    cancela: tuple[str, ...] = ()
    campo_protocolo: str = ""

    def alvo(self, detalhes: dict) -> tuple[str, str] | None:
        """(tpEvento, protocol) of the event this one cancels, read from its detEvento; None when unknown."""
        if not self.cancela or not self.campo_protocolo:
            return None
        tipo = detalhes.get("tpEventoAut") or (self.cancela[0] if len(self.cancela) == 1 else "")
        protocolo = (detalhes.get(self.campo_protocolo) or "").strip()
        return (tipo, protocolo) if tipo in self.cancela and protocolo else None

    def confere(self, descricao: str) -> bool:
        """Whether `descricao` is one of the schema's descEvento values (accents, case, quotes and spacing aside)."""
        return _normalizar(descricao) in {_normalizar(d) for d in self.descricoes}


def _normalizar(texto: str) -> str:
    sem_acentos = unicodedata.normalize("NFKD", texto).encode("ascii", "ignore").decode()
    return "".join(c for c in sem_acentos.casefold() if c.isalnum())


def _t(codigo, documento, nome, significado, categoria, autor, esquema, *descricoes, cancela=(), campo_protocolo=""):
    return TipoEvento(codigo, documento, nome, significado, categoria, autor, esquema, descricoes or (nome,),
                      tuple(cancela), campo_protocolo)  # fmt: skip


C, A = Categoria, Autor

# The reform events that 110001 may cancel: the tpEventoAut enumeration of e110001_v1.00.xsd.
CANCELAVEIS_POR_110001 = (
    "112110", "112120", "112130", "112140", "112150", "211110", "211120", "211124", "211128", "211130",
    "211140", "211150", "212110", "212120", "412120", "412130",
)  # fmt: skip

_NFE = [
    # Cancellation, CC-e and the recipient's manifestation: PL_010_V1.30 e110111, e110112, e110110, e2102x0
    # (authors per MOC NF-e 4.00 and NT 2012.002).
    _t("110111", NFE, "Cancelamento", "Cancela a NF-e.", C.CANCELAMENTO, A.EMITENTE, "e110111_v1.00.xsd"),
    _t("110112", NFE, "Cancelamento por substituição", "Cancela a NFC-e substituída pela NFC-e indicada em chNFeRef.",
       C.CANCELAMENTO, A.EMITENTE, "e110112_v1.00.xsd", "Cancelamento por substituicao"),
    _t("110110", NFE, "Carta de Correção", "Corrige um dado da NF-e que não altera o imposto (texto em xCorrecao).",
       C.CARTA_CORRECAO, A.EMITENTE, "e110110_v1.00.xsd", "Carta de Correção", "Carta de Correcao"),
    _t("210200", NFE, "Confirmação da Operação", "O destinatário confirma que a operação ocorreu como descrita.",
       C.MANIFESTACAO, A.DESTINATARIO, "e210200_v1.00.xsd", "Confirmacao da Operacao"),
    _t("210210", NFE, "Ciência da Operação", "O destinatário declara conhecer a NF-e, sem ainda confirmá-la.",
       C.MANIFESTACAO, A.DESTINATARIO, "e210210_v1.00.xsd", "Ciencia da Operacao"),
    _t("210220", NFE, "Desconhecimento da Operação", "O destinatário declara não reconhecer a operação.",
       C.MANIFESTACAO, A.DESTINATARIO, "e210220_v1.00.xsd", "Desconhecimento da Operacao"),
    _t("210240", NFE, "Operação não Realizada", "O destinatário declara que a operação não se concretizou.",
       C.MANIFESTACAO, A.DESTINATARIO, "e210240_v1.00.xsd", "Operacao nao Realizada"),
    # Contingency, delivery, interested party, financial reconciliation (PL_010_V1.30; tpAutor where fixed).
    _t("110140", NFE, "EPEC", "Emissão prévia em contingência: o resumo da NF-e registrado antes da autorização.",
       C.CONTINGENCIA, A.EMITENTE, "e110140_v1.00.xsd"),
    _t("110130", NFE, "Comprovante de Entrega da NF-e", "Registra a entrega da mercadoria (data, recebedor, local).",
       C.ENTREGA, A.EMITENTE, "e110130_v1.00.xsd"),
    _t("110131", NFE, "Cancelamento Comprovante de Entrega da NF-e", "Cancela um comprovante de entrega (110130).",
       C.CANCELAMENTO_EVENTO, A.EMITENTE, "e110131_v1.00.xsd", cancela=["110130"], campo_protocolo="nProtEvento"),
    _t("110192", NFE, "Insucesso na Entrega da NF-e", "Registra uma tentativa de entrega que não se concluiu e o motivo.",
       C.ENTREGA, A.NAO_FIXADO, "e110192_v1.00.xsd"),
    _t("110193", NFE, "Cancelamento Insucesso na Entrega da NF-e", "Cancela um registro de insucesso na entrega (110192).",
       C.CANCELAMENTO_EVENTO, A.NAO_FIXADO, "e110193_v1.00.xsd", cancela=["110192"], campo_protocolo="nProtEvento"),
    _t("110150", NFE, "Ator interessado na NF-e", "Autoriza um terceiro (o transportador) a obter o XML da NF-e.",
       C.TRANSPORTE, A.PARTES_DA_NFE, "e110150_v1.00.xsd"),
    _t("110750", NFE, "Conciliação Financeira (ECONF)", "Informa os pagamentos recebidos pela operação da NF-e.",
       C.PAGAMENTO, A.NAO_FIXADO, "e110750_v1.00.xsd", "ECONF"),
    _t("110751", NFE, "Cancelamento Conciliação Financeira", "Cancela uma conciliação financeira (110750).",
       C.CANCELAMENTO_EVENTO, A.NAO_FIXADO, "e110751_v1.00.xsd", cancela=["110750"], campo_protocolo="nProtEvento"),
    # Extension of the ICMS suspension on goods sent for industrialization (PL_010_V1.30 e1115xx, e4115xx;
    # first and second term per NT 2015.001).
    _t("111500", NFE, "Pedido de Prorrogação (1º prazo)", "Pede a prorrogação do prazo de retorno com suspensão do ICMS.",
       C.PRORROGACAO, A.EMITENTE, "e111500_v1.00.xsd", "Pedido de Prorrogação", "Pedido de Prorrogacao"),
    _t("111501", NFE, "Pedido de Prorrogação (2º prazo)", "Pede a segunda prorrogação do prazo de retorno com suspensão do ICMS.",
       C.PRORROGACAO, A.EMITENTE, "e111501_v1.00.xsd", "Pedido de Prorrogação", "Pedido de Prorrogacao"),
    _t("111502", NFE, "Cancelamento de Pedido de Prorrogação (1º prazo)", "Cancela um pedido de prorrogação (111500).",
       C.CANCELAMENTO_EVENTO, A.EMITENTE, "e111502_v1.00.xsd", "Cancelamento de Pedido de Prorrogação",
       "Cancelamento de Pedido de Prorrogacao", cancela=["111500"], campo_protocolo="nProt"),
    _t("111503", NFE, "Cancelamento de Pedido de Prorrogação (2º prazo)", "Cancela um pedido de prorrogação (111501).",
       C.CANCELAMENTO_EVENTO, A.EMITENTE, "e111503_v1.00.xsd", "Cancelamento de Pedido de Prorrogação",
       "Cancelamento de Pedido de Prorrogacao", cancela=["111501"], campo_protocolo="nProt"),
    *[
        _t(codigo, NFE, f"Fisco - Prorrogação ICMS remessa para industrialização ({resposta})",
           f"Resposta do Fisco ao {resposta}.", C.PRORROGACAO, A.FISCO, f"e{codigo}_v1.00.xsd",
           "Fisco - Prorrogação ICMS remessa para industrialização",
           "Fisco - Prorrogacao ICMS remessa para industrializacao")
        for codigo, resposta in [
            ("411500", "pedido de prorrogação do 1º prazo"), ("411501", "pedido de prorrogação do 2º prazo"),
            ("411502", "cancelamento do pedido do 1º prazo"), ("411503", "cancelamento do pedido do 2º prazo"),
        ]
    ],
    # Tax reform (NT 2025.002-RTC; PL_010_V1.30 e110001, e1121x0, e2111xx, e2121x0, e4121x0; tpAutor per schema).
    _t("110001", NFE, "Cancelamento de Evento",
       "Cancela um evento da reforma tributária (o de tpEventoAut e nProtEvento); não cancela a NF-e.",
       C.CANCELAMENTO_EVENTO, A.AUTOR_DO_EVENTO, "e110001_v1.00.xsd", cancela=CANCELAVEIS_POR_110001,
       campo_protocolo="nProtEvento"),
    _t("112110", NFE, "Informação de efetivo pagamento integral para liberar crédito presumido do adquirente",
       "O fornecedor informa que recebeu o pagamento integral, o que libera o crédito presumido do adquirente.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e112110_v1.00.xsd"),
    _t("112120", NFE, "Importação em ALC/ZFM não convertida em isenção",
       "Informa os itens importados em ALC/ZFM cuja suspensão não se converteu em isenção, com IBS e CBS.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e112120_v1.00.xsd"),
    _t("112130", NFE, "Perecimento, perda, roubo ou furto durante o transporte contratado pelo fornecedor",
       "O fornecedor informa a perda dos itens no transporte que contratou, com o IBS e a CBS envolvidos.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e112130_v1.00.xsd"),
    _t("112140", NFE, "Fornecimento não realizado com pagamento antecipado",
       "O fornecedor informa itens pagos antecipadamente e não fornecidos, com o IBS e a CBS envolvidos.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e112140_v1.00.xsd"),
    _t("112150", NFE, "Atualização da Data de Previsão de Entrega", "O fornecedor informa a nova data prevista de entrega.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e112150_v1.00.xsd"),
    _t("211110", NFE, "Solicitação de Apropriação de crédito presumido",
       "Pede a apropriação do crédito presumido de IBS e CBS da operação, por item.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE, "e211110_v1.00.xsd"),
    _t("211120", NFE, "Destinação de item para consumo pessoal",
       "Informa itens adquiridos destinados a consumo pessoal, com o IBS e a CBS que não geram crédito.",
       C.REFORMA_TRIBUTARIA, A.EMITENTE_OU_DESTINATARIO, "e211120_v1.00.xsd"),
    _t("211124", NFE, "Perecimento, perda, roubo ou furto durante o transporte contratado pelo adquirente",
       "O adquirente informa a perda dos itens no transporte que contratou, com o IBS e a CBS envolvidos.",
       C.REFORMA_TRIBUTARIA, A.DESTINATARIO, "e211124_v1.00.xsd"),
    _t("211128", NFE, "Aceite de débito na apuração por emissão de nota de crédito",
       "O adquirente aceita (ou não) o débito de IBS e CBS na apuração pela nota de crédito recebida.",
       C.REFORMA_TRIBUTARIA, A.DESTINATARIO, "e211128_v1.00.xsd"),
    _t("211130", NFE, "Imobilização de Item", "O adquirente informa itens incorporados ao ativo imobilizado.",
       C.REFORMA_TRIBUTARIA, A.DESTINATARIO, "e211130_v1.00.xsd"),
    _t("211140", NFE, "Solicitação de Apropriação de Crédito de Combustível",
       "O adquirente pede o crédito de IBS e CBS do combustível consumido, por item.",
       C.REFORMA_TRIBUTARIA, A.DESTINATARIO, "e211140_v1.00.xsd"),
    _t("211150", NFE, "Solicitação de Apropriação de Crédito para bens e serviços que dependem de atividade do adquirente",
       "O adquirente pede o crédito de IBS e CBS que depende da sua atividade, por item.",
       C.REFORMA_TRIBUTARIA, A.DESTINATARIO, "e211150_v1.00.xsd"),
    _t("212110", NFE, "Manifestação sobre Pedido de Transferência de Crédito de IBS em Operação de Sucessão",
       "A empresa sucessora aceita (ou não) a transferência do crédito de IBS.",
       C.REFORMA_TRIBUTARIA, A.SUCESSORA, "e212110_v1.00.xsd"),
    _t("212120", NFE, "Manifestação sobre Pedido de Transferência de Crédito de CBS em Operação de Sucessão",
       "A empresa sucessora aceita (ou não) a transferência do crédito de CBS.",
       C.REFORMA_TRIBUTARIA, A.SUCESSORA, "e212120_v1.00.xsd"),
    _t("412120", NFE, "Manifestação do Fisco sobre Pedido de Transferência de Crédito de IBS em Operação de Sucessão",
       "O Fisco defere (ou não) a transferência do crédito de IBS.", C.REFORMA_TRIBUTARIA, A.FISCO, "e412120_v1.00.xsd"),
    _t("412130", NFE, "Manifestação do Fisco sobre Pedido de Transferência de Crédito de CBS em Operação de Sucessão",
       "O Fisco defere (ou não) a transferência do crédito de CBS.", C.REFORMA_TRIBUTARIA, A.FISCO, "e412130_v1.00.xsd"),
    # Registered on the NF-e by others (PL_010_V1.30; tpAutor 5 and 6 fixed by the schema; SUFRAMA by descEvento).
    _t("610130", NFE, "Comprovante de Entrega do CT-e",
       "A entrega feita pelo CT-e que transportou a NF-e, registrada na NF-e pelo ambiente autorizador.",
       C.ENTREGA, A.FISCO, "e610130_v1.00.xsd", "“Comprovante de Entrega do CT-e"),
    # Its nProtCTeCanc is the protocol of the CT-e's own event, not of the 610130 stored here: no automatic link.
    _t("610131", NFE, "Cancelamento Comprovante de Entrega do CT-e",
       "O comprovante de entrega do CT-e (610130) foi cancelado no CT-e.",
       C.CANCELAMENTO_EVENTO, A.FISCO, "e610131_v1.00.xsd", "“Cancelamento Comprovante de Entrega do CT-e"),
    _t("790700", NFE, "Averbação para Exportação", "A Receita Federal registra a exportação das mercadorias da NF-e.",
       C.ORGAO_PUBLICO, A.RFB, "e790700_v1.00.xsd", "Averbação para Exportação", "Averbacao para Exportacao"),
    _t("990900", NFE, "Vistoria SUFRAMA", "A SUFRAMA registra a vistoria da mercadoria (PIN-e).",
       C.ORGAO_PUBLICO, A.SUFRAMA, "e990900_v1.00.xsd"),
    _t("990910", NFE, "Confirmação de Internalização da Mercadoria na SUFRAMA",
       "A SUFRAMA confirma a internalização da mercadoria na Zona Franca ou área incentivada.",
       C.ORGAO_PUBLICO, A.SUFRAMA, "e990910_v1.00.xsd", "Confirmacao de Internalizacao da Mercadoria na SUFRAMA"),
]  # fmt: skip

_CTE = [
    # PL_CTe_400 (with the reform update): each ev*_v4.00.xsd names its tpEvento in its annotation. Authors of
    # the emitter's and the tomador's events per MOC CT-e 4.00; the schemas fix none.
    _t("110111", CTE, "Cancelamento", "Cancela o CT-e.", C.CANCELAMENTO, A.EMITENTE, "evCancCTe_v4.00.xsd"),
    _t("110110", CTE, "Carta de Correção", "Corrige campos do CT-e que não alteram o imposto (grupo, campo e valor).",
       C.CARTA_CORRECAO, A.EMITENTE, "evCCeCTe_v4.00.xsd", "Carta de Correção", "Carta de Correcao"),
    _t("110113", CTE, "EPEC", "Emissão prévia em contingência: o resumo do CT-e registrado antes da autorização.",
       C.CONTINGENCIA, A.EMITENTE, "evEPECCTe_v4.00.xsd"),
    _t("110160", CTE, "Registro Multimodal", "Registra documentos e ocorrências do transporte multimodal.",
       C.TRANSPORTE, A.EMITENTE, "evRegMultimodal_v4.00.xsd"),
    _t("110170", CTE, "Informações da GTV", "Informa as Guias de Transporte de Valores do CT-e OS.",
       C.TRANSPORTE, A.EMITENTE, "evGTV_v4.00.xsd", "Informações da GTV", "Informacoes da GTV"),
    _t("110180", CTE, "Comprovante de Entrega do CT-e", "Registra a entrega da carga (data, recebedor, local).",
       C.ENTREGA, A.EMITENTE, "evCECTe_v4.00.xsd"),
    _t("110181", CTE, "Cancelamento do Comprovante de Entrega do CT-e", "Cancela um comprovante de entrega (110180).",
       C.CANCELAMENTO_EVENTO, A.EMITENTE, "evCancCECTe_v4.00.xsd", cancela=["110180"], campo_protocolo="nProtCE"),
    _t("110190", CTE, "Insucesso na Entrega do CT-e", "Registra uma tentativa de entrega que não se concluiu e o motivo.",
       C.ENTREGA, A.EMITENTE, "evIECTe_v4.00.xsd"),
    _t("110191", CTE, "Cancelamento do Insucesso de Entrega do CT-e", "Cancela um registro de insucesso na entrega (110190).",
       C.CANCELAMENTO_EVENTO, A.EMITENTE, "evCancIECTe_v4.00.xsd", cancela=["110190"], campo_protocolo="nProtIE"),
    _t("110300", CTE, "Vinculação do Pagamento", "Vincula ao CT-e a transação de pagamento da prestação.",
       C.PAGAMENTO, A.NAO_FIXADO, "evVincPgto_v4.00.xsd", "Vinculação do Pagamento", "Vinculacao do Pagamento"),
    _t("110301", CTE, "Cancelamento da vinculação do pagamento", "Cancela uma vinculação de pagamento (110300).",
       C.CANCELAMENTO_EVENTO, A.NAO_FIXADO, "evCancVincPgto_v4.00.xsd", "Cancelamento da vinculação do pagamento",
       "Cancelamento da vinculacao do pagamento", cancela=["110300"], campo_protocolo="nProtVincPgto"),
    _t("211110", CTE, "Apropriação Crédito Presumido", "Pede a apropriação do crédito presumido de IBS e CBS da prestação.",
       C.REFORMA_TRIBUTARIA, A.NAO_FIXADO, "evApropriaCredPres_v4.00.xsd", "Apropriação Credito Presumido",
       "Apropriacao Credito Presumido"),
    _t("610110", CTE, "Prestação do Serviço em Desacordo", "O tomador declara que o serviço não foi prestado como no CT-e.",
       C.DESACORDO, A.TOMADOR, "evPrestDesacordo_v4.00.xsd", "Prestação do Serviço em Desacordo",
       "Prestacao do Servico em Desacordo"),
    _t("610111", CTE, "Cancelamento Prestação do Serviço em Desacordo",
       "O tomador cancela a sua prestação em desacordo (610110).", C.CANCELAMENTO_EVENTO, A.TOMADOR,
       "evCancPrestDesacordo_v4.00.xsd", "Cancelamento Prestação do Serviço em Desacordo",
       "Cancelamento Prestacao do Servico em Desacordo", cancela=["610110"], campo_protocolo="nProtEvPrestDes"),
]  # fmt: skip

TIPOS_DE_EVENTO: dict[tuple[str, str], TipoEvento] = {(t.documento, t.codigo): t for t in _NFE + _CTE}


def tipo_de_evento(documento: str, codigo: str) -> TipoEvento | None:
    return TIPOS_DE_EVENTO.get((documento, codigo))


def nome_do_evento(documento: str, codigo: str) -> str:
    tipo = tipo_de_evento(documento, codigo)
    return tipo.nome if tipo else f"Evento {codigo}"


def categoria_do_evento(documento: str, codigo: str) -> str:
    tipo = tipo_de_evento(documento, codigo)
    return tipo.categoria if tipo else Categoria.OUTRO


def aviso_do_tipo(documento: str, codigo: str, detalhes: dict) -> str:
    """What the ImportLog adds about the type: unknown, or a descEvento the schema does not have.

    Such an event is still stored: SEFAZ registered it against the schema it had then, so a different text
    means a schema revision this catalogue has not seen (or a sender's typo), and the code decides what the
    event is. Refusing it would lose a registered fiscal fact.
    """
    tipo = tipo_de_evento(documento, codigo)
    if tipo is None:
        return f"; tipo de evento fora do catálogo: guardado como \"Evento {codigo}\""
    descricao = (detalhes or {}).get("descEvento", "")
    if not descricao or tipo.confere(descricao):
        return ""
    return f"; aviso: descEvento \"{descricao[:80]}\" difere do esquema ({tipo.esquema}: \"{tipo.descricoes[0]}\")"
