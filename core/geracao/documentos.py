"""Realistic NF-e/NFC-e 4.00, CT-e/CT-e OS 4.00, events and DistDFe summaries, signed with a test certificate.

Used by the test suite, the demo data and the benchmark, so: built directly with lxml, deterministic for a
given ``random.Random(seed)`` (and explicit dates), and fast enough for thousands of documents. Element
order follows the official schemas (nfelib PL_010 / PL_CTe_400); amounts are consistent: item values sum
to the totals and vNF = vProd - vDesc + vFrete + vIPI.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from lxml import etree

from core.documentos.chave import CODIGO_POR_UF, digitos_cnpj, digitos_cpf, montar_chave
from core.documentos.xmldsig import assinar, digest_value_de
from core.geracao.certificado import CertificadoGerado

NS_NFE = "http://www.portalfiscal.inf.br/nfe"
NS_CTE = "http://www.portalfiscal.inf.br/cte"
_NS_XSD = "http://www.w3.org/2001/XMLSchema"
_NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_N = f"{{{NS_NFE}}}"
_C = f"{{{NS_CTE}}}"

FUSO = timezone(timedelta(hours=-3))  # Brasília, no DST since 2019
_DECLARACAO = b'<?xml version="1.0" encoding="UTF-8"?>'
_CENTAVO = Decimal("0.01")
_ZERO = Decimal("0.00")

DESCRICOES_EVENTO_NFE = {
    "110111": "Cancelamento",
    "110110": "Carta de Correcao",
    "210200": "Confirmacao da Operacao",
    "210210": "Ciencia da Operacao",
    "210220": "Desconhecimento da Operacao",
    "210240": "Operacao nao Realizada",
}
DESCRICOES_EVENTO_CTE = {
    "110111": "Cancelamento",
    "110110": "Carta de Correcao",
    "610110": "Prestacao do Servico em Desacordo",
}
_GRUPO_EVENTO_CTE = {"110111": "evCancCTe", "110110": "evCCeCTe", "610110": "evPrestDesacordo"}

# Fixed texts required verbatim by the event schemas (e110110_v1.00.xsd, evCCeCTe_v4.00.xsd).
_CONDICAO_USO_CCE_NFE = (
    "A Carta de Correcao e disciplinada pelo paragrafo 1o-A do art. 7o do Convenio S/N, de 15 de "
    "dezembro de 1970 e pode ser utilizada para regularizacao de erro ocorrido na emissao de documento "
    "fiscal, desde que o erro nao esteja relacionado com: I - as variaveis que determinam o valor do "
    "imposto tais como: base de calculo, aliquota, diferenca de preco, quantidade, valor da operacao ou "
    "da prestacao; II - a correcao de dados cadastrais que implique mudanca do remetente ou do "
    "destinatario; III - a data de emissao ou de saida."
)
_CONDICAO_USO_CCE_CTE = (
    "A Carta de Correcao e disciplinada pelo Art. 58-B do CONVENIO/SINIEF 06/89: Fica permitida a "
    "utilizacao de carta de correcao, para regularizacao de erro ocorrido na emissao de documentos "
    "fiscais relativos a prestacao de servico de transporte, desde que o erro nao esteja relacionado "
    "com: I - as variaveis que determinam o valor do imposto tais como: base de calculo, aliquota, "
    "diferenca de preco, quantidade, valor da prestacao;II - a correcao de dados cadastrais que "
    "implique mudanca do emitente, tomador, remetente ou do destinatario;III - a data de emissao ou "
    "de saida."
)

_MOTIVOS_NFE = {
    100: "Autorizado o uso da NF-e",
    150: "Autorizado o uso da NF-e, autorizacao fora de prazo",
    110: "Uso Denegado",
    205: "NF-e esta denegada na base de dados da SEFAZ",
    301: "Uso Denegado: Irregularidade fiscal do emitente",
    302: "Uso Denegado: Irregularidade fiscal do destinatario",
    303: "Uso Denegado: Destinatario nao habilitado a operar na UF",
}
_MOTIVOS_CTE = {100: "Autorizado o uso do CT-e", 150: "Autorizado o uso do CT-e, autorizacao fora de prazo"}
_MOTIVOS_EVENTO = {
    135: "Evento registrado e vinculado a {doc}",
    136: "Evento registrado, mas nao vinculado a {doc}",
    155: "Cancelamento homologado fora de prazo",
}

# Capital of each UF: IBGE municipality code (its first two digits are the UF code), name, CEP prefix.
_CAPITAIS = {
    "RO": ("1100205", "PORTO VELHO", "76"), "AC": ("1200401", "RIO BRANCO", "69"),
    "AM": ("1302603", "MANAUS", "69"), "RR": ("1400100", "BOA VISTA", "69"),
    "PA": ("1501402", "BELEM", "66"), "AP": ("1600303", "MACAPA", "68"),
    "TO": ("1721000", "PALMAS", "77"), "MA": ("2111300", "SAO LUIS", "65"),
    "PI": ("2211001", "TERESINA", "64"), "CE": ("2304400", "FORTALEZA", "60"),
    "RN": ("2408102", "NATAL", "59"), "PB": ("2507507", "JOAO PESSOA", "58"),
    "PE": ("2611606", "RECIFE", "50"), "AL": ("2704302", "MACEIO", "57"),
    "SE": ("2800308", "ARACAJU", "49"), "BA": ("2927408", "SALVADOR", "40"),
    "MG": ("3106200", "BELO HORIZONTE", "30"), "ES": ("3205309", "VITORIA", "29"),
    "RJ": ("3304557", "RIO DE JANEIRO", "20"), "SP": ("3550308", "SAO PAULO", "01"),
    "PR": ("4106902", "CURITIBA", "80"), "SC": ("4205407", "FLORIANOPOLIS", "88"),
    "RS": ("4314902", "PORTO ALEGRE", "90"), "MS": ("5002704", "CAMPO GRANDE", "79"),
    "MT": ("5103403", "CUIABA", "78"), "GO": ("5208707", "GOIANIA", "74"),
    "DF": ("5300108", "BRASILIA", "70"),
}  # fmt: skip
_RUAS = ("RUA DAS FLORES", "AVENIDA BRASIL", "RUA XV DE NOVEMBRO", "AVENIDA DAS INDUSTRIAS",
         "RUA SETE DE SETEMBRO", "RODOVIA BR 116 KM 12", "RUA DO COMERCIO", "AVENIDA CENTRAL")  # fmt: skip
_BAIRROS = ("CENTRO", "JARDIM AMERICA", "VILA NOVA", "DISTRITO INDUSTRIAL", "SAO JOSE", "BOA VISTA")
_EMPRESAS = ("COMERCIAL", "DISTRIBUIDORA", "INDUSTRIA", "ATACADO", "MERCADO", "CONSTRUTORA")
_NOMES_FANTASIA = ("ALFA", "BOA ESPERANCA", "SANTA CRUZ", "PAULISTA", "NORDESTE", "HORIZONTE", "ESTRELA",
                   "UNIAO", "PIONEIRA", "SAO JORGE")  # fmt: skip
_SUFIXOS = ("LTDA", "S/A", "EIRELI", "ME")
_PESSOAS = ("MARIA", "JOSE", "ANA", "JOAO", "FRANCISCA", "ANTONIO", "LUCIA", "PEDRO", "JULIANA")
_SOBRENOMES = ("SILVA", "SANTOS", "OLIVEIRA", "SOUZA", "PEREIRA", "LIMA", "COSTA", "FERREIRA")
# (description, NCM, unit, min price, max price); a few accents on purpose to exercise UTF-8.
_PRODUTOS = (
    ("ARROZ TIPO 1 5KG", "10063021", "UN", 18, 35),
    ("FEIJÃO CARIOCA 1KG", "07133319", "UN", 6, 12),
    ("CAFÉ TORRADO E MOÍDO 500G", "09012100", "UN", 12, 30),
    ("OLEO DE SOJA 900ML", "15079011", "UN", 5, 10),
    ("PARAFUSO SEXTAVADO M8 X 30", "73181500", "CX", 20, 60),
    ("CABO FLEXIVEL 2,5MM 100M", "85444900", "RL", 150, 320),
    ("TINTA ACRILICA BRANCA 18L", "32091010", "GL", 180, 450),
    ("NOTEBOOK 15 POLEGADAS", "84713012", "UN", 2500, 6000),
    ("CADEIRA DE ESCRITORIO GIRATORIA", "94013000", "UN", 300, 1200),
    ("PAPEL SULFITE A4 500 FOLHAS", "48025610", "PCT", 20, 35),
    ("CIMENTO CP II 50KG", "25232910", "SC", 30, 45),
    ("DETERGENTE LIQUIDO 500ML", "34022000", "UN", 2, 5),
)
_CARGAS = ("MERCADORIAS EM GERAL", "ALIMENTOS NAO PERECIVEIS", "MATERIAL DE CONSTRUCAO",
           "ELETRONICOS", "MOVEIS", "PRODUTOS QUIMICOS NAO PERIGOSOS")  # fmt: skip
_PADRAO = "padrao"  # sentinel: "use the model's usual default"


@dataclass(frozen=True)
class DocumentoGerado:
    chave: str
    xml: bytes


@dataclass(frozen=True)
class _Parte:
    tipo: str  # "CNPJ", "CPF" or "idEstrangeiro"
    documento: str
    nome: str
    ie: str | None
    uf: str
    codigo_municipio: str
    municipio: str
    logradouro: str
    numero: str
    bairro: str
    cep: str
    fone: str


@dataclass
class _Item:
    codigo: str
    descricao: str
    ncm: str
    unidade: str
    ean: str
    quantidade: Decimal
    valor_unitario: Decimal
    valor: Decimal
    frete: Decimal = _ZERO
    desconto: Decimal = _ZERO
    base_icms: Decimal = _ZERO
    aliquota_icms: Decimal = _ZERO
    icms: Decimal = _ZERO
    aliquota_ipi: Decimal = _ZERO
    ipi: Decimal = _ZERO
    pis: Decimal = _ZERO
    cofins: Decimal = _ZERO


# --------------------------------------------------------------------------------------------- NF-e


def gerar_nfe(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    emitente_cnpj: str | None = None,
    emitente_cpf: str | None = None,
    emitente_nome: str | None = None,
    emitente_uf: str = "SP",
    destinatario: str | None = _PADRAO,
    destinatario_documento: str | None = None,
    destinatario_nome: str | None = None,
    destinatario_uf: str | None = None,
    itens: int = 3,
    modelo: str = "55",
    serie: int | None = None,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    tipo_operacao: str = "saida",
    natureza_operacao: str = "VENDA DE MERCADORIA",
    valor_frete: Decimal | None = None,
    valor_desconto: Decimal | None = None,
    transportadora_cnpj: str | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """An NF-e (mod 55) or NFC-e (mod 65): ``nfeProc`` with protNFe, or a bare signed ``NFe``.

    ``destinatario``: "cnpj", "cpf", "estrangeiro" or None; by default "cnpj" for NF-e and none for
    NFC-e. The emitter defaults to the certificate's holder. A CPF emitter uses série 920 by default
    (the range SEFAZ reserves for them).
    """
    if modelo not in ("55", "65") or tipo_operacao not in ("entrada", "saida"):
        raise ValueError("modelo deve ser 55 ou 65 e tipo_operacao entrada ou saida")
    rng = rng or random.Random()
    nfce = modelo == "65"
    if destinatario == _PADRAO:
        destinatario = None if nfce else "cnpj"
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, emitente_cpf, emitente_nome, emitente_uf)
    dest = _destinatario_nfe(rng, destinatario, destinatario_documento, destinatario_nome,
                             destinatario_uf or (emitente_uf if nfce else None), ambiente)  # fmt: skip
    serie = serie if serie is not None else (920 if emit.tipo == "CPF" else 1)
    numero = numero or rng.randint(1, 999_999)
    codigo_numerico = f"{rng.randint(10_000_000, 99_999_999)}"
    chave = montar_chave(CODIGO_POR_UF[emit.uf], dh_emi.strftime("%y%m"), emit.documento, modelo,
                         serie, numero, "1", codigo_numerico)  # fmt: skip
    id_destino = _id_destino(emit, dest)
    itens_nfe = _itens_nfe(rng, itens, nfce, id_destino, valor_frete, valor_desconto)

    nfe = etree.Element(_N + "NFe", nsmap={None: NS_NFE})
    inf = etree.SubElement(nfe, _N + "infNFe", versao="4.00", Id="NFe" + chave)
    _ide_nfe(inf, chave, natureza_operacao, dh_emi, tipo_operacao, id_destino, emit, nfce, ambiente, dest)
    _emit_nfe(inf, emit)
    if dest is not None:
        _dest_nfe(inf, dest)
    cfop = _cfop_nfe(tipo_operacao, id_destino)
    for n, item in enumerate(itens_nfe, start=1):
        _det_nfe(inf, n, item, cfop, nfce)
    total = _total_nfe(inf, itens_nfe)
    _transp_nfe(inf, rng, itens_nfe, transportadora_cnpj)
    if not nfce and dest is not None and tipo_operacao == "saida":
        _cobr_nfe(inf, rng, numero, dh_emi, total)
    _pag_nfe(inf, nfce, total)
    _campos(etree.SubElement(inf, _N + "infAdic"), _N, [("infCpl", _informacao_complementar(rng))])
    if nfce:
        _supl_nfce(nfe, chave, ambiente, emit.uf)
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_protocolo:
        return DocumentoGerado(chave, _serializar(nfe))

    proc = etree.Element(_N + "nfeProc", versao="4.00", nsmap={None: NS_NFE})
    proc.append(nfe)
    prot = etree.SubElement(proc, _N + "protNFe", versao="4.00")
    _inf_prot(prot, _N, "chNFe", chave, ambiente, dh_emi, rng, digest_value_de(inf),
              codigo_status, _MOTIVOS_NFE.get(codigo_status, "Rejeicao"), f"{emit.uf}_NFE_PL009_V4")  # fmt: skip
    return DocumentoGerado(chave, _serializar(proc))


def _ide_nfe(inf, chave, natureza, dh_emi, tipo_operacao, id_destino, emit, nfce, ambiente, dest) -> None:
    saida = tipo_operacao == "saida"
    consumidor_final = nfce or (dest is not None and dest.tipo == "CPF")
    _campos(etree.SubElement(inf, _N + "ide"), _N, [
        ("cUF", chave[:2]), ("cNF", chave[35:43]), ("natOp", natureza), ("mod", chave[20:22]),
        ("serie", int(chave[22:25])), ("nNF", int(chave[25:34])), ("dhEmi", _dh(dh_emi)),
        ("dhSaiEnt", None if nfce else _dh(dh_emi + timedelta(hours=1))),
        ("tpNF", "1" if saida else "0"), ("idDest", id_destino), ("cMunFG", emit.codigo_municipio),
        ("tpImp", "4" if nfce else "1"), ("tpEmis", chave[34]), ("cDV", chave[43]), ("tpAmb", ambiente),
        ("finNFe", "1"), ("indFinal", "1" if consumidor_final else "0"), ("indPres", "1" if nfce else "9"),
        ("indIntermed", "0"), ("procEmi", "0"), ("verProc", "FISCAL-GERADOR 1.0"),
    ])  # fmt: skip


def _emit_nfe(inf, emit: _Parte) -> None:
    el = etree.SubElement(inf, _N + "emit")
    _campos(el, _N, [(emit.tipo, emit.documento), ("xNome", emit.nome)])
    _endereco_nfe(etree.SubElement(el, _N + "enderEmit"), emit)
    _campos(el, _N, [("IE", emit.ie), ("CRT", "3")])


def _dest_nfe(inf, dest: _Parte) -> None:
    el = etree.SubElement(inf, _N + "dest")
    _campos(el, _N, [(dest.tipo, dest.documento), ("xNome", dest.nome)])
    _endereco_nfe(etree.SubElement(el, _N + "enderDest"), dest)
    _campos(el, _N, [("indIEDest", "1" if dest.ie else "9"), ("IE", dest.ie)])


def _endereco_nfe(el, parte: _Parte) -> None:
    exterior = parte.uf == "EX"
    _campos(el, _N, [
        ("xLgr", parte.logradouro), ("nro", parte.numero), ("xBairro", parte.bairro),
        ("cMun", parte.codigo_municipio), ("xMun", parte.municipio), ("UF", parte.uf),
        ("CEP", None if exterior else parte.cep), ("cPais", "2496" if exterior else "1058"),
        ("xPais", "ESTADOS UNIDOS" if exterior else "BRASIL"), ("fone", parte.fone),
    ])  # fmt: skip


def _itens_nfe(rng, quantidade, nfce, id_destino, valor_frete, valor_desconto) -> list[_Item]:
    itens = [_item(rng) for _ in range(max(1, quantidade))]
    total = sum((i.valor for i in itens), _ZERO)
    if valor_frete is None:
        valor_frete = _ZERO if nfce or rng.random() < 0.5 else _dinheiro(rng, 15, 300)
    if valor_desconto is None:
        percentual = Decimal(rng.randint(1, 10)) if rng.random() < 0.3 else _ZERO
        valor_desconto = _percentual(total, percentual)
    _ratear(itens, "frete", Decimal(valor_frete), total)
    _ratear(itens, "desconto", Decimal(valor_desconto), total)
    aliquota_icms = Decimal({"1": "18.00", "2": "12.00", "3": "0.00"}[id_destino])
    for item in itens:
        _impostos_item(rng, item, aliquota_icms, com_ipi=not nfce and id_destino != "3")
    return itens


def _item(rng) -> _Item:
    indice = rng.randrange(len(_PRODUTOS))
    descricao, ncm, unidade, minimo, maximo = _PRODUTOS[indice]
    quantidade = Decimal(rng.randint(1, 40))
    valor_unitario = _dinheiro(rng, minimo, maximo)
    return _Item(f"{1000 + indice}", descricao, ncm, unidade, _ean(rng), quantidade, valor_unitario,
                 (quantidade * valor_unitario).quantize(_CENTAVO))  # fmt: skip


def _ratear(itens: list[_Item], campo: str, valor: Decimal, total: Decimal) -> None:
    # Proportional share rounded down; the last item takes the remainder, so the parts sum exactly.
    restante = valor
    for item in itens[:-1]:
        parte = (valor * item.valor / total).quantize(_CENTAVO, ROUND_DOWN)
        setattr(item, campo, parte)
        restante -= parte
    setattr(itens[-1], campo, restante)


def _impostos_item(rng, item: _Item, aliquota_icms: Decimal, com_ipi: bool) -> None:
    item.base_icms = item.valor + item.frete - item.desconto if aliquota_icms else _ZERO
    item.aliquota_icms = aliquota_icms
    item.icms = _percentual(item.base_icms, aliquota_icms)
    if com_ipi and rng.random() < 0.5:
        item.aliquota_ipi = Decimal(rng.choice(("5.00", "10.00", "15.00")))
        item.ipi = _percentual(item.valor, item.aliquota_ipi)
    base_pis = item.valor - item.desconto
    item.pis = _percentual(base_pis, Decimal("1.65"))
    item.cofins = _percentual(base_pis, Decimal("7.60"))


def _det_nfe(inf, n: int, item: _Item, cfop: str, nfce: bool) -> None:
    det = etree.SubElement(inf, _N + "det", nItem=str(n))
    quantidade, unitario = f"{item.quantidade:.4f}", f"{item.valor_unitario:.4f}"
    _campos(etree.SubElement(det, _N + "prod"), _N, [
        ("cProd", item.codigo),
        ("cEAN", item.ean), ("xProd", item.descricao), ("NCM", item.ncm), ("CFOP", cfop),
        ("uCom", item.unidade), ("qCom", quantidade), ("vUnCom", unitario), ("vProd", _v(item.valor)),
        ("cEANTrib", item.ean), ("uTrib", item.unidade), ("qTrib", quantidade), ("vUnTrib", unitario),
        ("vFrete", _v(item.frete) if item.frete else None),
        ("vDesc", _v(item.desconto) if item.desconto else None), ("indTot", "1"),
    ])  # fmt: skip
    imposto = etree.SubElement(det, _N + "imposto")
    icms = etree.SubElement(imposto, _N + "ICMS")
    if item.aliquota_icms:
        _campos(etree.SubElement(icms, _N + "ICMS00"), _N, [
            ("orig", "0"), ("CST", "00"), ("modBC", "3"), ("vBC", _v(item.base_icms)),
            ("pICMS", _v(item.aliquota_icms)), ("vICMS", _v(item.icms)),
        ])  # fmt: skip
    else:  # export: not taxed
        _campos(etree.SubElement(icms, _N + "ICMS40"), _N, [("orig", "0"), ("CST", "41")])
    if not nfce:
        ipi = etree.SubElement(imposto, _N + "IPI")
        _campos(ipi, _N, [("cEnq", "999")])
        if item.ipi:
            _campos(etree.SubElement(ipi, _N + "IPITrib"), _N, [
                ("CST", "50"), ("vBC", _v(item.valor)), ("pIPI", _v(item.aliquota_ipi)), ("vIPI", _v(item.ipi)),
            ])  # fmt: skip
        else:
            _campos(etree.SubElement(ipi, _N + "IPINT"), _N, [("CST", "53")])
    base_pis = _v(item.valor - item.desconto)
    _campos(etree.SubElement(etree.SubElement(imposto, _N + "PIS"), _N + "PISAliq"), _N, [
        ("CST", "01"), ("vBC", base_pis), ("pPIS", "1.65"), ("vPIS", _v(item.pis)),
    ])  # fmt: skip
    _campos(etree.SubElement(etree.SubElement(imposto, _N + "COFINS"), _N + "COFINSAliq"), _N, [
        ("CST", "01"), ("vBC", base_pis), ("pCOFINS", "7.60"), ("vCOFINS", _v(item.cofins)),
    ])  # fmt: skip


def _total_nfe(inf, itens: list[_Item]) -> Decimal:
    def soma(campo: str) -> Decimal:
        return sum((getattr(i, campo) for i in itens), _ZERO)

    produtos, frete, desconto, ipi = soma("valor"), soma("frete"), soma("desconto"), soma("ipi")
    total = produtos - desconto + frete + ipi
    _campos(etree.SubElement(etree.SubElement(inf, _N + "total"), _N + "ICMSTot"), _N, [
        ("vBC", _v(soma("base_icms"))), ("vICMS", _v(soma("icms"))), ("vICMSDeson", "0.00"),
        ("vFCP", "0.00"), ("vBCST", "0.00"), ("vST", "0.00"), ("vFCPST", "0.00"), ("vFCPSTRet", "0.00"),
        ("vProd", _v(produtos)), ("vFrete", _v(frete)), ("vSeg", "0.00"), ("vDesc", _v(desconto)),
        ("vII", "0.00"), ("vIPI", _v(ipi)), ("vIPIDevol", "0.00"), ("vPIS", _v(soma("pis"))),
        ("vCOFINS", _v(soma("cofins"))), ("vOutro", "0.00"), ("vNF", _v(total)),
    ])  # fmt: skip
    return total


def _transp_nfe(inf, rng, itens: list[_Item], transportadora_cnpj: str | None) -> None:
    com_frete = any(i.frete for i in itens) or transportadora_cnpj is not None
    transp = etree.SubElement(inf, _N + "transp")
    _campos(transp, _N, [("modFrete", "0" if com_frete else "9")])
    if com_frete:
        uf = rng.choice(("SP", "PR", "MG", "RJ"))
        _campos(etree.SubElement(transp, _N + "transporta"), _N, [
            ("CNPJ", transportadora_cnpj or _cnpj(rng)), ("xNome", f"TRANSPORTES {rng.choice(_NOMES_FANTASIA)} LTDA"),
            ("IE", _ie(rng)), ("xEnder", f"{rng.choice(_RUAS)}, {rng.randint(1, 3000)}"),
            ("xMun", _CAPITAIS[uf][1]), ("UF", uf),
        ])  # fmt: skip


def _cobr_nfe(inf, rng, numero: int, dh_emi: datetime, total: Decimal) -> None:
    cobr = etree.SubElement(inf, _N + "cobr")
    _campos(etree.SubElement(cobr, _N + "fat"), _N, [
        ("nFat", str(numero)), ("vOrig", _v(total)), ("vDesc", "0.00"), ("vLiq", _v(total)),
    ])  # fmt: skip
    parcelas = rng.randint(1, 3)
    valor = (total / parcelas).quantize(_CENTAVO, ROUND_DOWN)
    for n in range(1, parcelas + 1):
        vencimento = (dh_emi + timedelta(days=30 * n)).date()
        ultima = total - valor * (parcelas - 1)
        _campos(etree.SubElement(cobr, _N + "dup"), _N, [
            ("nDup", f"{n:03d}"), ("dVenc", vencimento.isoformat()), ("vDup", _v(ultima if n == parcelas else valor)),
        ])  # fmt: skip


def _pag_nfe(inf, nfce: bool, total: Decimal) -> None:
    pag = etree.SubElement(inf, _N + "pag")
    # 01 dinheiro at the counter; 15 boleto for invoices with duplicatas; 90 when nothing is paid.
    forma = "01" if nfce else ("15" if total else "90")
    _campos(etree.SubElement(pag, _N + "detPag"), _N, [("tPag", forma), ("vPag", _v(total))])


def _supl_nfce(nfe, chave: str, ambiente: int, uf: str) -> None:
    # QR code v2 (NT 2015.002 v1.50 layout): p=chave|2|tpAmb|idCSC|SHA-1(chave|2|tpAmb|idCSC + CSC).
    id_csc, csc = "1", "CSC-TESTE-0000000000000000000000001"
    parametros = f"{chave}|2|{ambiente}|{id_csc}"
    hash_qr = hashlib.sha1((parametros + csc).encode()).hexdigest().upper()
    base = f"https://www.{'' if ambiente == 1 else 'homologacao.'}nfce.fazenda.{uf.lower()}.gov.br"
    supl = etree.SubElement(nfe, _N + "infNFeSupl")
    _campos(supl, _N, [("qrCode", f"{base}/qrcode?p={parametros}|{hash_qr}"), ("urlChave", f"{base}/consulta")])


def _cfop_nfe(tipo_operacao: str, id_destino: str) -> str:
    # First digit: 1/2/3 entrada (same UF, other UF, abroad), 5/6/7 saída.
    primeiro = int(id_destino) + (0 if tipo_operacao == "entrada" else 4)
    return f"{primeiro}102"


def _id_destino(emit: _Parte, dest: _Parte | None) -> str:
    if dest is None or dest.uf == emit.uf:
        return "1"
    return "3" if dest.uf == "EX" else "2"


# --------------------------------------------------------------------------------------------- CT-e


def gerar_cte(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    modal: str = "01",
    tipo_servico: str = "0",
    tipo_cte: str = "0",
    tomador: str = "0",
    chaves_nfe: Sequence[str] = (),
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    remetente_documento: str | None = None,
    destinatario_documento: str | None = None,
    expedidor_documento: str | None = None,
    recebedor_documento: str | None = None,
    tomador_documento: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "RJ",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valor_prestacao: Decimal | None = None,
    valor_carga: Decimal | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A CT-e (mod 57): ``cteProc`` > ``CTe`` + ``protCTe``, or a bare signed ``CTe``.

    ``tomador`` "0".."3" points at rem/exped/receb/dest (toma3); "4" carries its own data (toma4).
    The emitter (carrier) is in ``uf_inicio``; exped/receb are present when they are the tomador or
    their document is given. Modals: 01 rodoviário, 02 aéreo, 06 multimodal.
    """
    if tomador not in ("0", "1", "2", "3", "4") or modal not in ("01", "02", "06"):
        raise ValueError("tomador deve ser 0..4 e modal 01, 02 ou 06")
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    rem = _parte(rng, remetente_documento, uf_inicio)
    dest = _parte(rng, destinatario_documento, uf_fim)
    exped = _parte(rng, expedidor_documento, uf_inicio) if tomador == "1" or expedidor_documento else None
    receb = _parte(rng, recebedor_documento, uf_fim) if tomador == "2" or recebedor_documento else None
    toma4 = _parte(rng, tomador_documento, rng.choice(("SP", "MG", "PR"))) if tomador == "4" else None
    tomador_parte = {"0": rem, "1": exped, "2": receb, "3": dest, "4": toma4}[tomador]
    chave = _chave_cte(rng, emit, dh_emi, "57", serie, numero)

    cte = etree.Element(_C + "CTe", nsmap={None: NS_CTE})
    inf = etree.SubElement(cte, _C + "infCte", versao="4.00", Id="CTe" + chave)
    ide = _ide_cte(inf, chave, dh_emi, emit, modal, tipo_servico, tipo_cte, uf_inicio, uf_fim, ambiente,
                   tomador_parte)  # fmt: skip
    _tomador_cte(ide, tomador, tomador_parte)
    _emit_cte(inf, emit)
    for tag, endereco, parte in (("rem", "enderReme", rem), ("exped", "enderExped", exped),
                                 ("receb", "enderReceb", receb), ("dest", "enderDest", dest)):  # fmt: skip
        if parte is not None:
            _parte_cte(etree.SubElement(inf, _C + tag), parte, endereco)
    _vprest_imp(inf, rng, valor_prestacao, uf_inicio != uf_fim)
    _inf_cte_norm(inf, rng, valor_carga, chaves_nfe, modal, dh_emi)
    return _finalizar_cte(cte, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "cteProc", emit.uf)  # fmt: skip


def gerar_cte_os(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    tipo_servico: str = "6",
    tomador_documento: str | None = None,
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "RJ",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valor_prestacao: Decimal | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A CT-e OS (mod 67, road passenger/valuables transport): ``cteOSProc`` > ``CTeOS`` + ``protCTe``.

    It has a ``toma`` group and no rem/exped/receb/dest. ``tipo_servico``: 6 pessoas, 7 valores,
    8 excesso de bagagem.
    """
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    toma = _parte(rng, tomador_documento, uf_inicio)
    chave = _chave_cte(rng, emit, dh_emi, "67", serie, numero)

    cte = etree.Element(_C + "CTeOS", versao="4.00", nsmap={None: NS_CTE})
    inf = etree.SubElement(cte, _C + "infCte", versao="4.00", Id="CTe" + chave)
    _ide_cte(inf, chave, dh_emi, emit, "01", tipo_servico, "0", uf_inicio, uf_fim, ambiente, toma, os=True)
    _emit_cte(inf, emit)
    _parte_cte(etree.SubElement(inf, _C + "toma"), toma, "enderToma")
    _vprest_imp(inf, rng, valor_prestacao, uf_inicio != uf_fim)
    norm = etree.SubElement(inf, _C + "infCTeNorm")
    servico = etree.SubElement(norm, _C + "infServico")
    descricao = {"6": "TRANSPORTE DE PASSAGEIROS", "7": "TRANSPORTE DE VALORES", "8": "EXCESSO DE BAGAGEM"}
    _campos(servico, _C, [("xDescServ", descricao.get(tipo_servico, "TRANSPORTE DE PESSOAS"))])
    _campos(etree.SubElement(servico, _C + "infQ"), _C, [("qCarga", f"{rng.randint(1, 46)}.0000")])
    rodo = etree.SubElement(etree.SubElement(norm, _C + "infModal", versaoModal="4.00"), _C + "rodoOS")
    _campos(rodo, _C, [("TAF", f"{rng.randint(0, 10**12 - 1):012d}")])
    return _finalizar_cte(cte, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "cteOSProc", emit.uf)  # fmt: skip


def _chave_cte(rng, emit: _Parte, dh_emi: datetime, modelo: str, serie: int, numero: int | None) -> str:
    return montar_chave(CODIGO_POR_UF[emit.uf], dh_emi.strftime("%y%m"), emit.documento, modelo, serie,
                        numero or rng.randint(1, 999_999), "1", rng.randint(10_000_000, 99_999_999))  # fmt: skip


def _ide_cte(inf, chave, dh_emi, emit, modal, tipo_servico, tipo_cte, uf_inicio, uf_fim, ambiente, tomador,
             os: bool = False):  # fmt: skip
    inicio, fim = _CAPITAIS[uf_inicio][:2], _CAPITAIS[uf_fim][:2]
    interestadual = uf_inicio != uf_fim
    ide = etree.SubElement(inf, _C + "ide")
    _campos(ide, _C, [
        ("cUF", chave[:2]), ("cCT", chave[35:43]), ("CFOP", "6353" if interestadual else "5353"),
        ("natOp", "PRESTACAO DE SERVICO DE TRANSPORTE"), ("mod", chave[20:22]), ("serie", int(chave[22:25])),
        ("nCT", int(chave[25:34])), ("dhEmi", _dh(dh_emi)), ("tpImp", "1"), ("tpEmis", chave[34]),
        ("cDV", chave[43]), ("tpAmb", ambiente), ("tpCTe", tipo_cte), ("procEmi", "0"),
        ("verProc", "FISCAL-GERADOR 1.0"), ("cMunEnv", emit.codigo_municipio), ("xMunEnv", emit.municipio),
        ("UFEnv", emit.uf), ("modal", modal), ("tpServ", tipo_servico),
    ])  # fmt: skip
    if os:  # CT-e OS: indIEToma comes before the (optional) route
        _campos(ide, _C, [("indIEToma", "1" if tomador.ie else "9")])
    _campos(ide, _C, [
        ("cMunIni", inicio[0]), ("xMunIni", inicio[1]), ("UFIni", uf_inicio),
        ("cMunFim", fim[0]), ("xMunFim", fim[1]), ("UFFim", uf_fim),
    ])  # fmt: skip
    return ide


def _tomador_cte(ide, tomador: str, parte: _Parte) -> None:
    _campos(ide, _C, [("retira", "1"), ("indIEToma", "1" if parte.ie else "9")])
    if tomador == "4":  # "outros": the tomador's data travel in ide/toma4
        _parte_cte(etree.SubElement(ide, _C + "toma4"), parte, "enderToma", toma="4")
    else:  # toma3 only points at rem/exped/receb/dest
        _campos(etree.SubElement(ide, _C + "toma3"), _C, [("toma", tomador)])


def _inf_cte_norm(inf, rng, valor_carga, chaves_nfe: Sequence[str], modal: str, dh_emi: datetime) -> None:
    norm = etree.SubElement(inf, _C + "infCTeNorm")
    carga = etree.SubElement(norm, _C + "infCarga")
    valor = Decimal(valor_carga) if valor_carga is not None else _dinheiro(rng, 1000, 90000)
    _campos(carga, _C, [("vCarga", _v(valor)), ("proPred", rng.choice(_CARGAS))])
    _campos(etree.SubElement(carga, _C + "infQ"), _C, [
        ("cUnid", "01"), ("tpMed", "PESO BRUTO"), ("qCarga", f"{Decimal(rng.randint(10, 250_000)) / 10:.4f}"),
    ])  # fmt: skip
    _campos(etree.SubElement(carga, _C + "infQ"), _C, [
        ("cUnid", "03"), ("tpMed", "VOLUMES"), ("qCarga", f"{rng.randint(1, 400)}.0000"),
    ])  # fmt: skip
    if chaves_nfe:  # the NF-e carried: how a CT-e links to NF-e
        inf_doc = etree.SubElement(norm, _C + "infDoc")
        for chave_nfe in chaves_nfe:
            _campos(etree.SubElement(inf_doc, _C + "infNFe"), _C, [("chave", chave_nfe)])
    _modal_cte(etree.SubElement(norm, _C + "infModal", versaoModal="4.00"), rng, modal, dh_emi)


def _emit_cte(inf, emit: _Parte) -> None:
    el = etree.SubElement(inf, _C + "emit")
    _campos(el, _C, [(emit.tipo, emit.documento), ("IE", emit.ie), ("xNome", emit.nome)])
    _campos(etree.SubElement(el, _C + "enderEmit"), _C, [
        ("xLgr", emit.logradouro), ("nro", emit.numero), ("xBairro", emit.bairro),
        ("cMun", emit.codigo_municipio), ("xMun", emit.municipio), ("CEP", emit.cep), ("UF", emit.uf),
        ("fone", emit.fone),
    ])  # fmt: skip
    _campos(el, _C, [("CRT", "3")])


def _parte_cte(el, parte: _Parte, tag_endereco: str, toma: str | None = None) -> None:
    _campos(el, _C, [("toma", toma), (parte.tipo, parte.documento), ("IE", parte.ie), ("xNome", parte.nome),
                     ("fone", parte.fone)])  # fmt: skip
    _campos(etree.SubElement(el, _C + tag_endereco), _C, [
        ("xLgr", parte.logradouro), ("nro", parte.numero), ("xBairro", parte.bairro),
        ("cMun", parte.codigo_municipio), ("xMun", parte.municipio), ("CEP", parte.cep), ("UF", parte.uf),
        ("cPais", "1058"), ("xPais", "BRASIL"),
    ])  # fmt: skip


def _vprest_imp(inf, rng, valor_prestacao: Decimal | None, interestadual: bool) -> None:
    total = Decimal(valor_prestacao) if valor_prestacao is not None else _dinheiro(rng, 80, 9000)
    pedagio = min(_dinheiro(rng, 5, 60), total / 4).quantize(_CENTAVO, ROUND_DOWN)
    valor_taxa = (total * Decimal("0.10")).quantize(_CENTAVO, ROUND_DOWN)
    componentes = [("FRETE VALOR", valor_taxa), ("PEDAGIO", pedagio),
                   ("FRETE PESO", total - valor_taxa - pedagio)]  # fmt: skip
    vprest = etree.SubElement(inf, _C + "vPrest")
    _campos(vprest, _C, [("vTPrest", _v(total)), ("vRec", _v(total))])
    for nome, valor in componentes:
        _campos(etree.SubElement(vprest, _C + "Comp"), _C, [("xNome", nome), ("vComp", _v(valor))])
    aliquota = Decimal("12.00") if interestadual else Decimal("18.00")
    icms = etree.SubElement(etree.SubElement(etree.SubElement(inf, _C + "imp"), _C + "ICMS"), _C + "ICMS00")
    _campos(icms, _C, [("CST", "00"), ("vBC", _v(total)), ("pICMS", _v(aliquota)),
                       ("vICMS", _v(_percentual(total, aliquota)))])  # fmt: skip


def _modal_cte(inf_modal, rng, modal: str, dh_emi: datetime) -> None:
    if modal == "01":
        _campos(etree.SubElement(inf_modal, _C + "rodo"), _C, [("RNTRC", f"{rng.randint(0, 99_999_999):08d}")])
    elif modal == "02":
        aereo = etree.SubElement(inf_modal, _C + "aereo")
        _campos(aereo, _C, [("nMinu", f"{rng.randint(1, 999_999_999):09d}"),
                            ("dPrevAereo", (dh_emi + timedelta(days=2)).date().isoformat())])  # fmt: skip
        _campos(etree.SubElement(aereo, _C + "natCarga"), _C, [("cInfManu", "99")])
        _campos(etree.SubElement(aereo, _C + "tarifa"), _C, [("CL", "G"), ("vTar", _v(_dinheiro(rng, 50, 900)))])
    else:
        _campos(etree.SubElement(inf_modal, _C + "multimodal"), _C, [
            ("COTM", f"{rng.randint(1, 10**9)}"), ("indNegociavel", "0"),
        ])  # fmt: skip


def _finalizar_cte(documento, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                   algoritmo, tag_proc, uf) -> DocumentoGerado:  # fmt: skip
    # infCTeSupl sits between infCte and Signature, so it must exist before signing.
    qr = f"https://dfe-portal.svrs.rs.gov.br/cte/qrCode?chCTe={chave}&tpAmb={ambiente}"
    _campos(etree.SubElement(documento, _C + "infCTeSupl"), _C, [("qrCodCTe", qr)])
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_protocolo:
        return DocumentoGerado(chave, _serializar(documento))
    proc = etree.Element(_C + tag_proc, versao="4.00", nsmap={None: NS_CTE})
    proc.append(documento)
    prot = etree.SubElement(proc, _C + "protCTe", versao="4.00")
    _inf_prot(prot, _C, "chCTe", chave, ambiente, dh_emi, rng, digest_value_de(inf), codigo_status,
              _MOTIVOS_CTE.get(codigo_status, "Rejeicao"), f"{uf}-CTE-4.00")  # fmt: skip
    return DocumentoGerado(chave, _serializar(proc))


# ------------------------------------------------------------------------------------------- events


def gerar_evento_nfe(
    *,
    certificado: CertificadoGerado,
    chave: str,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    detalhes: dict[str, str] | None = None,
    autor_documento: str | None = None,
    codigo_status: int = 135,
    ambiente: int = 1,
    data_evento: datetime | None = None,
    com_retorno: bool = True,
    rng: random.Random | None = None,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """An NF-e event: ``procEventoNFe`` > ``evento`` (signed) + ``retEvento``, or a bare ``evento``.

    ``detalhes`` fills detEvento (xJust, nProt, xCorrecao...); missing required ones are invented.
    Unknown event types need ``detalhes["descEvento"]``. The author defaults to the certificate holder.
    """
    rng = rng or random.Random()
    detalhes = dict(detalhes or {})
    descricao = detalhes.pop("descEvento", None) or DESCRICOES_EVENTO_NFE.get(tipo_evento)
    if descricao is None:
        raise ValueError(f"informe detalhes['descEvento'] para o evento {tipo_evento}")
    dh_evento = data_evento or _data_evento_padrao(rng)
    # Manifestações go to the Ambiente Nacional (91); emitter events to the key's UF.
    orgao = "91" if tipo_evento.startswith("2102") else chave[:2]
    autor = autor_documento or certificado.documento

    evento = etree.Element(_N + "evento", versao="1.00", nsmap={None: NS_NFE})
    inf = etree.SubElement(evento, _N + "infEvento", Id=f"ID{tipo_evento}{chave}{sequencia:02d}")
    _campos(inf, _N, [
        ("cOrgao", orgao), ("tpAmb", ambiente), (_tag_documento(autor), autor), ("chNFe", chave),
        ("dhEvento", _dh(dh_evento)), ("tpEvento", tipo_evento), ("nSeqEvento", sequencia), ("verEvento", "1.00"),
    ])  # fmt: skip
    det = etree.SubElement(inf, _N + "detEvento", versao="1.00")
    _campos(det, _N, [("descEvento", descricao)])
    _campos(det, _N, _detalhes_evento_nfe(rng, tipo_evento, chave, detalhes))
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_retorno:
        return DocumentoGerado(chave, _serializar(evento))

    proc = etree.Element(_N + "procEventoNFe", versao="1.00", nsmap={None: NS_NFE})
    proc.append(evento)
    ret = etree.SubElement(proc, _N + "retEvento", versao="1.00")
    manifestacao = orgao == "91"
    _ret_evento(ret, _N, rng, ambiente, orgao, codigo_status, "NF-e", "chNFe", chave, tipo_evento, descricao,
                sequencia, dh_evento, [(f"{_tag_documento(autor)}Dest", autor)] if manifestacao else [])  # fmt: skip
    return DocumentoGerado(chave, _serializar(proc))


def gerar_evento_cte(
    *,
    certificado: CertificadoGerado,
    chave: str,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    detalhes: dict[str, str] | None = None,
    autor_documento: str | None = None,
    codigo_status: int = 135,
    ambiente: int = 1,
    data_evento: datetime | None = None,
    com_retorno: bool = True,
    rng: random.Random | None = None,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A CT-e event: ``procEventoCTe`` > ``eventoCTe`` (signed) + ``retEventoCTe``.

    Supported types: 110111 cancelamento (nProt, xJust), 110110 CC-e (grupoAlterado, campoAlterado,
    valorAlterado) and 610110 prestação em desacordo (xObs).
    """
    if tipo_evento not in _GRUPO_EVENTO_CTE:
        raise ValueError(f"evento de CT-e {tipo_evento} não suportado pelo gerador")
    rng = rng or random.Random()
    detalhes = dict(detalhes or {})
    descricao = DESCRICOES_EVENTO_CTE[tipo_evento]
    dh_evento = data_evento or _data_evento_padrao(rng)
    autor = autor_documento or certificado.documento
    orgao = chave[:2]

    evento = etree.Element(_C + "eventoCTe", versao="4.00", nsmap={None: NS_CTE})
    # CT-e event Ids carry a 3-digit sequence (eventoCTeTiposBasico_v4.00.xsd), NF-e ones 2 digits.
    inf = etree.SubElement(evento, _C + "infEvento", Id=f"ID{tipo_evento}{chave}{sequencia:03d}")
    _campos(inf, _C, [
        ("cOrgao", orgao), ("tpAmb", ambiente), (_tag_documento(autor), autor), ("chCTe", chave),
        ("dhEvento", _dh(dh_evento)), ("tpEvento", tipo_evento), ("nSeqEvento", sequencia),
    ])  # fmt: skip
    det = etree.SubElement(inf, _C + "detEvento", versaoEvento="4.00")
    grupo = etree.SubElement(det, _C + _GRUPO_EVENTO_CTE[tipo_evento])
    _campos(grupo, _C, [("descEvento", descricao)])
    _detalhes_evento_cte(grupo, rng, tipo_evento, chave, detalhes)
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_retorno:
        return DocumentoGerado(chave, _serializar(evento))

    proc = etree.Element(_C + "procEventoCTe", versao="4.00", nsmap={None: NS_CTE})
    proc.append(evento)
    ret = etree.SubElement(proc, _C + "retEventoCTe", versao="4.00")
    _ret_evento(ret, _C, rng, ambiente, orgao, codigo_status, "CT-e", "chCTe", chave, tipo_evento, descricao,
                sequencia, dh_evento, [])  # fmt: skip
    return DocumentoGerado(chave, _serializar(proc))


def _detalhes_evento_nfe(rng, tipo_evento: str, chave: str, detalhes: dict[str, str]) -> list[tuple[str, str]]:
    if tipo_evento == "110111":
        campos = [("nProt", detalhes.pop("nProt", None) or _protocolo(rng, chave[:2], chave[2:4])),
                  ("xJust", detalhes.pop("xJust", "Pedido cancelado pelo cliente antes da entrega"))]  # fmt: skip
    elif tipo_evento == "110110":
        campos = [("xCorrecao", detalhes.pop("xCorrecao", "Correção do endereço de entrega: número 120")),
                  ("xCondUso", detalhes.pop("xCondUso", _CONDICAO_USO_CCE_NFE))]  # fmt: skip
    elif tipo_evento == "210240":
        campos = [("xJust", detalhes.pop("xJust", "Mercadoria devolvida, operacao nao realizada"))]
    else:
        campos = []
    return campos + list(detalhes.items())  # other fields, in the caller's order


def _detalhes_evento_cte(grupo, rng, tipo_evento: str, chave: str, detalhes: dict[str, str]) -> None:
    if tipo_evento == "110111":
        _campos(grupo, _C, [
            ("nProt", detalhes.get("nProt") or _protocolo(rng, chave[:2], chave[2:4])),
            ("xJust", detalhes.get("xJust", "Prestacao de servico cancelada pelo tomador")),
        ])  # fmt: skip
    elif tipo_evento == "110110":
        _campos(etree.SubElement(grupo, _C + "infCorrecao"), _C, [
            ("grupoAlterado", detalhes.get("grupoAlterado", "compl")),
            ("campoAlterado", detalhes.get("campoAlterado", "xObs")),
            ("valorAlterado", detalhes.get("valorAlterado", "Entrega no periodo da manha")),
        ])  # fmt: skip
        _campos(grupo, _C, [("xCondUso", _CONDICAO_USO_CCE_CTE)])
    else:
        _campos(grupo, _C, [("indDesacordoOper", "1"),
                            ("xObs", detalhes.get("xObs", "Mercadoria entregue com avaria no destino"))])  # fmt: skip


def _ret_evento(ret, ns, rng, ambiente, orgao, codigo_status, nome_doc, tag_chave, chave, tipo_evento,
                descricao, sequencia, dh_evento, destinatario) -> None:  # fmt: skip
    numero = _protocolo(rng, orgao, dh_evento.strftime("%y"))
    motivo = _MOTIVOS_EVENTO.get(codigo_status, "Rejeicao: evento nao registrado").format(doc=nome_doc)
    inf = etree.SubElement(ret, ns + "infEvento", Id=f"ID{numero}")
    _campos(inf, ns, [
        ("tpAmb", ambiente), ("verAplic", "AN_1.0.0" if orgao == "91" else f"SVRS{dh_evento:%Y%m%d}"),
        ("cOrgao", orgao), ("cStat", codigo_status), ("xMotivo", motivo), (tag_chave, chave),
        ("tpEvento", tipo_evento), ("xEvento", descricao), ("nSeqEvento", sequencia), *destinatario,
        ("dhRegEvento", _dh(dh_evento + timedelta(seconds=rng.randint(1, 300)))), ("nProt", numero),
    ])  # fmt: skip


# ---------------------------------------------------------------------------------------- summaries


def gerar_resumo_nfe(
    *,
    nfe: DocumentoGerado | None = None,
    chave: str | None = None,
    emitente_cnpj: str | None = None,
    nome: str | None = None,
    ie: str | None = None,
    valor: Decimal | None = None,
    situacao: int = 1,
    tipo_operacao: str | None = None,
    data_emissao: datetime | None = None,
    digest_value: str | None = None,
    protocolo: str | None = None,
    data_recebimento: datetime | None = None,
    rng: random.Random | None = None,
) -> DocumentoGerado:
    """An unsigned ``resNFe`` 1.01 as DistDFe delivers it (``cSitNFe``: 1 autorizada, 2 denegada, 3 cancelada).

    With ``nfe`` (a generated ``nfeProc``) every field is taken from it, so summary and full document
    agree; explicit arguments still win.
    """
    rng = rng or random.Random()
    base = _dados_nfe(nfe) if nfe is not None else {}
    chave = chave or base.get("chave")
    if chave is None:
        emitente_cnpj = emitente_cnpj or _cnpj(rng)
        chave = _chave_nfe_aleatoria(rng, emitente_cnpj, data_emissao or _data_padrao(rng))
    emitente = emitente_cnpj or base.get("emitente") or chave[6:20]
    dh_emi = data_emissao or base.get("dhEmi") or _data_padrao(rng)
    dh_recbto = data_recebimento or base.get("dhRecbto") or dh_emi + timedelta(seconds=rng.randint(2, 120))
    tipo = tipo_operacao or base.get("tipo") or "saida"

    res = etree.Element(_N + "resNFe", versao="1.01", nsmap={None: NS_NFE, "xsd": _NS_XSD, "xsi": _NS_XSI})
    _campos(res, _N, [
        ("chNFe", chave), (_tag_documento(emitente), emitente),
        ("xNome", nome or base.get("xNome") or _nome_empresa(rng)), ("IE", ie or base.get("IE") or _ie(rng)),
        ("dhEmi", _dh(dh_emi)), ("tpNF", "1" if tipo == "saida" else "0"),
        ("vNF", _v(Decimal(valor)) if valor is not None else base.get("vNF") or _v(_dinheiro(rng, 50, 50000))),
        ("digVal", digest_value or base.get("digVal") or base64.b64encode(rng.randbytes(20)).decode()),
        ("dhRecbto", _dh(dh_recbto)),
        ("nProt", protocolo or base.get("nProt") or _protocolo(rng, chave[:2], chave[2:4])),
        ("cSitNFe", situacao),
    ])  # fmt: skip
    return DocumentoGerado(chave, _serializar(res))


def gerar_resumo_evento(
    *,
    chave: str | None = None,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    autor_documento: str | None = None,
    descricao: str | None = None,
    orgao: str | None = None,
    data_evento: datetime | None = None,
    protocolo: str | None = None,
    data_recebimento: datetime | None = None,
    rng: random.Random | None = None,
) -> DocumentoGerado:
    """An unsigned ``resEvento`` 1.01 (the summary of an NF-e event sent to the other parties)."""
    rng = rng or random.Random()
    chave = chave or _chave_nfe_aleatoria(rng, _cnpj(rng), _data_padrao(rng))
    descricao = descricao or DESCRICOES_EVENTO_NFE.get(tipo_evento)
    if descricao is None:
        raise ValueError(f"informe a descricao do evento {tipo_evento}")
    orgao = orgao or ("91" if tipo_evento.startswith("2102") else chave[:2])
    autor = autor_documento or chave[6:20]
    dh_evento = data_evento or _data_evento_padrao(rng)
    dh_recbto = data_recebimento or dh_evento + timedelta(seconds=rng.randint(1, 60))

    res = etree.Element(_N + "resEvento", versao="1.01", nsmap={None: NS_NFE, "xsd": _NS_XSD, "xsi": _NS_XSI})
    _campos(res, _N, [
        ("cOrgao", orgao), (_tag_documento(autor), autor), ("chNFe", chave), ("dhEvento", _dh(dh_evento)),
        ("tpEvento", tipo_evento), ("nSeqEvento", sequencia), ("xEvento", descricao),
        ("dhRecbto", _dh(dh_recbto)), ("nProt", protocolo or _protocolo(rng, orgao, dh_evento.strftime("%y"))),
    ])  # fmt: skip
    return DocumentoGerado(chave, _serializar(res))


def gerar_lote_zip(
    documentos: Iterable[DocumentoGerado],
    nome_arquivo: Callable[[DocumentoGerado], str] = lambda d: f"{d.chave}.xml",
) -> bytes:
    """A ZIP (in memory) with one XML per document, as customers upload batches."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as arquivo:
        for documento in documentos:
            arquivo.writestr(nome_arquivo(documento), documento.xml)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ helpers


def _campos(pai: etree._Element, ns: str, campos: Iterable[tuple[str, object]]) -> None:
    """Append simple text children in order; None values are optional fields left out."""
    for tag, valor in campos:
        if valor is not None:
            etree.SubElement(pai, ns + tag).text = str(valor)


def _serializar(raiz: etree._Element) -> bytes:
    # lxml writes the declaration with single quotes; SEFAZ files use double quotes.
    return _DECLARACAO + etree.tostring(raiz, encoding="UTF-8")


def _inf_prot(prot, ns, tag_chave, chave, ambiente, dh_emi, rng, digest, codigo_status, motivo, ver_aplic):
    numero = _protocolo(rng, chave[:2], dh_emi.strftime("%y"))
    inf = etree.SubElement(prot, ns + "infProt", Id=f"ID{numero}")
    _campos(inf, ns, [
        ("tpAmb", ambiente), ("verAplic", ver_aplic), (tag_chave, chave),
        ("dhRecbto", _dh(dh_emi + timedelta(seconds=rng.randint(2, 120)))), ("nProt", numero),
        ("digVal", digest), ("cStat", codigo_status), ("xMotivo", motivo),
    ])  # fmt: skip


def _chave_nfe_aleatoria(rng, emitente: str, data: datetime) -> str:
    return montar_chave(rng.choice(list(CODIGO_POR_UF.values())), data.strftime("%y%m"), emitente, "55", 1,
                        rng.randint(1, 999_999), "1", rng.randint(10_000_000, 99_999_999))  # fmt: skip


def _protocolo(rng, orgao: str, ano: str) -> str:
    # 15 digits: 1 (NF-e/CT-e authorizer) or 8 (Ambiente Nacional), cUF/cOrgao, year, sequence.
    prefixo = "8" if orgao == "91" else "1"
    return f"{prefixo}{orgao}{ano}{rng.randint(0, 10**10 - 1):010d}"


def _dados_nfe(documento: DocumentoGerado) -> dict:
    raiz = etree.fromstring(documento.xml)
    ns = {"n": NS_NFE}

    def texto(caminho: str) -> str | None:
        return raiz.findtext(caminho, namespaces=ns)

    emitente = texto(".//n:emit/n:CNPJ") or texto(".//n:emit/n:CPF")
    return {
        "chave": documento.chave,
        "emitente": emitente,
        "xNome": texto(".//n:emit/n:xNome"),
        "IE": texto(".//n:emit/n:IE"),
        "dhEmi": datetime.fromisoformat(texto(".//n:ide/n:dhEmi")),
        "tipo": "saida" if texto(".//n:ide/n:tpNF") == "1" else "entrada",
        "vNF": texto(".//n:total/n:ICMSTot/n:vNF"),
        "digVal": texto(".//n:protNFe/n:infProt/n:digVal") or digest_value_de(raiz.find(".//n:infNFe", ns)),
        "dhRecbto": _data_ou_none(texto(".//n:protNFe/n:infProt/n:dhRecbto")),
        "nProt": texto(".//n:protNFe/n:infProt/n:nProt"),
    }


def _data_ou_none(texto: str | None) -> datetime | None:
    return datetime.fromisoformat(texto) if texto else None


def _emitente(rng, certificado: CertificadoGerado, cnpj: str | None, cpf: str | None, nome: str | None,
              uf: str) -> _Parte:  # fmt: skip
    if cpf or (not cnpj and certificado.cpf and not certificado.cnpj):
        tipo, documento = "CPF", cpf or certificado.cpf
    else:
        tipo, documento = "CNPJ", cnpj or certificado.cnpj
    if not documento:
        raise ValueError("informe o documento do emitente")
    if nome is None and documento == certificado.documento:
        nome = certificado.nome
    return _parte_por_documento(tipo, documento, uf, nome, contribuinte=True)


def _destinatario_nfe(rng, tipo: str | None, documento: str | None, nome: str | None, uf: str | None,
                      ambiente: int) -> _Parte | None:  # fmt: skip
    if tipo is None:
        return None
    if tipo not in ("cnpj", "cpf", "estrangeiro"):
        raise ValueError("destinatario deve ser cnpj, cpf, estrangeiro ou None")
    if ambiente == 2:  # SEFAZ requires this exact name in homologação
        nome = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
    if tipo == "estrangeiro":
        return _parte_por_documento("idEstrangeiro", documento or f"{rng.randint(10**8, 10**9 - 1)}", "EX", nome)
    uf = uf or rng.choice(("SP", "SP", "RJ", "MG", "PR", "RS", "BA"))
    if tipo == "cpf":
        return _parte_por_documento("CPF", documento or _cpf(rng), uf, nome)
    return _parte_por_documento("CNPJ", documento or _cnpj(rng), uf, nome)


def _parte(rng, documento: str | None, uf: str) -> _Parte:
    documento = documento or _cnpj(rng)
    return _parte_por_documento(_tag_documento(documento), documento, uf)


def _parte_por_documento(tipo: str, documento: str, uf: str, nome: str | None = None,
                         contribuinte: bool = False) -> _Parte:  # fmt: skip
    # Name, IE and street derive from the document, so a CNPJ looks the same in every document.
    r = random.Random(documento)
    pessoa = tipo == "CPF"
    nome = nome or (_nome_pessoa(r) if pessoa else _nome_empresa(r))
    ie = _ie(r) if contribuinte or tipo == "CNPJ" else None
    numero, fone = str(r.randint(1, 4000)), f"{r.randint(11, 99)}{r.randint(30_000_000, 39_999_999)}"
    if uf == "EX":
        return _Parte(tipo, documento, nome, None, "EX", "9999999", "EXTERIOR", "5TH AVENUE", numero,
                      "MANHATTAN", "", fone)  # fmt: skip
    codigo_municipio, municipio, cep = _CAPITAIS[uf]
    return _Parte(
        tipo=tipo, documento=documento, nome=nome, ie=ie, uf=uf, codigo_municipio=codigo_municipio,
        municipio=municipio, logradouro=r.choice(_RUAS), numero=numero, bairro=r.choice(_BAIRROS),
        cep=f"{cep}{r.randint(0, 999_999):06d}", fone=fone,
    )  # fmt: skip


def _tag_documento(documento: str) -> str:
    return "CPF" if len(documento) == 11 else "CNPJ"


def _cnpj(rng) -> str:
    raiz = f"{rng.randint(1_000_000, 99_999_999):08d}0001"
    return raiz + digitos_cnpj(raiz)


def _cpf(rng) -> str:
    base = f"{rng.randint(1_000_000, 999_999_998):09d}"
    return base + digitos_cpf(base)


def _ie(rng) -> str:
    return f"{rng.randint(10**11, 10**12 - 1)}"


def _ean(rng) -> str:
    if rng.random() < 0.3:
        return "SEM GTIN"
    corpo = f"789{rng.randint(0, 10**9 - 1):09d}"
    soma = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(corpo))
    return corpo + str((10 - soma % 10) % 10)


def _nome_empresa(rng) -> str:
    return f"{rng.choice(_EMPRESAS)} {rng.choice(_NOMES_FANTASIA)} {rng.choice(_SUFIXOS)}"


def _nome_pessoa(rng) -> str:
    return f"{rng.choice(_PESSOAS)} {rng.choice(_SOBRENOMES)} {rng.choice(_SOBRENOMES)}"


def _informacao_complementar(rng) -> str:
    return f"PEDIDO {rng.randint(1000, 99999)}. DOCUMENTO EMITIDO POR ME OU EPP OPTANTE PELO SIMPLES NACIONAL: NAO"


def _dinheiro(rng, minimo: int, maximo: int) -> Decimal:
    return Decimal(rng.randint(minimo * 100, maximo * 100)) / 100


def _percentual(base: Decimal, aliquota: Decimal) -> Decimal:
    return (base * aliquota / 100).quantize(_CENTAVO, ROUND_HALF_UP)


def _v(valor: Decimal) -> str:
    return f"{valor:.2f}"


def _dh(momento: datetime) -> str:
    return momento.astimezone(FUSO).isoformat(timespec="seconds")


def _data_padrao(rng) -> datetime:
    # Recent, business-hours dates, anchored on today so that within a day a seed gives the same
    # documents; pass data_emissao for full determinism.
    hoje = datetime.now(FUSO).replace(hour=0, minute=0, second=0, microsecond=0)
    return hoje - timedelta(days=rng.randint(1, 60)) + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))



def _data_evento_padrao(rng) -> datetime:
    # Yesterday evening: after any default document date (at most yesterday 18:00), never in the future.
    hoje = datetime.now(FUSO).replace(hour=0, minute=0, second=0, microsecond=0)
    return hoje - timedelta(seconds=rng.randint(1, 6 * 3600))
