"""NF-e (mod 55) and NFC-e (mod 65) 4.00: ``nfeProc`` with protNFe, or a bare signed ``NFe``."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from lxml import etree

from core.documentos.chave import CODIGO_POR_UF
from core.documentos.xmldsig import assinar, digest_value_de
from core.geracao.certificado import CertificadoGerado

from .comum import (
    _CAPITAIS,
    _CENTAVO,
    _N,
    _NOMES_FANTASIA,
    _RUAS,
    _ZERO,
    NS_NFE,
    DocumentoGerado,
    _campos,
    _chave,
    _cnpj,
    _cpf,
    _data_padrao,
    _dh,
    _emitente,
    _ie,
    _inf_prot,
    _Parte,
    _parte_por_documento,
    _processo,
    _serializar,
    _v,
)
from .itens import _Item, _itens_nfe
from .reforma import Aliquotas, TotaisReforma, aliquotas_do_ano, grupo_ibscbs, grupo_imposto_seletivo, totais_nfe

_MOTIVOS_NFE = {
    100: "Autorizado o uso da NF-e",
    150: "Autorizado o uso da NF-e, autorizacao fora de prazo",
    110: "Uso Denegado",
    205: "NF-e esta denegada na base de dados da SEFAZ",
    301: "Uso Denegado: Irregularidade fiscal do emitente",
    302: "Uso Denegado: Irregularidade fiscal do destinatario",
    303: "Uso Denegado: Destinatario nao habilitado a operar na UF",
}
_PADRAO = "padrao"  # sentinel: "use the model's usual default"


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
    finalidade: int = 1,
    referenciada: str | None = None,
    reforma: bool = False,
    imposto_seletivo: bool = False,
) -> DocumentoGerado:
    """An NF-e (mod 55) or NFC-e (mod 65): ``nfeProc`` with protNFe, or a bare signed ``NFe``.

    ``finalidade`` is finNFe (1 normal ... 5 nota de crédito, 6 nota de débito); ``referenciada`` the key
    of the NF-e it refers to (NFref). ``reforma`` adds IBSCBS to every item, IBSCBSTot and vNFTot;
    ``imposto_seletivo`` also adds IS to the first item and ISTot.

    ``destinatario``: "cnpj", "cpf", "estrangeiro" or None; by default "cnpj" for NF-e and none for
    NFC-e. The emitter defaults to the certificate's holder. A CPF emitter uses série 920 by default
    (the range SEFAZ reserves for them).
    """
    if modelo not in ("55", "65") or tipo_operacao not in ("entrada", "saida"):
        raise ValueError("modelo deve ser 55 ou 65 e tipo_operacao entrada ou saida")
    if finalidade not in range(1, 7):
        raise ValueError("finalidade (finNFe) deve ser de 1 a 6")
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
    chave = _chave(rng, CODIGO_POR_UF[emit.uf], dh_emi, emit.documento, modelo, serie, numero)
    id_destino = _id_destino(emit, dest)
    itens_nfe = _itens_nfe(rng, itens, nfce, id_destino, valor_frete, valor_desconto)

    nfe = etree.Element(_N + "NFe", nsmap={None: NS_NFE})
    inf = etree.SubElement(nfe, _N + "infNFe", versao="4.00", Id="NFe" + chave)
    _ide_nfe(inf, chave, natureza_operacao, dh_emi, tipo_operacao, id_destino, emit, nfce, ambiente, dest,
             finalidade, referenciada)  # fmt: skip
    _parte_nfe(inf, "emit", "enderEmit", emit, [("IE", emit.ie), ("CRT", "3")])
    if dest is not None:
        _parte_nfe(inf, "dest", "enderDest", dest, [("indIEDest", "1" if dest.ie else "9"), ("IE", dest.ie)])
    cfop = _cfop_nfe(tipo_operacao, id_destino)
    aliquotas = aliquotas_do_ano(dh_emi.year) if reforma or imposto_seletivo else None
    totais = TotaisReforma()
    valor_nf_tot = _ZERO
    for n, item in enumerate(itens_nfe, start=1):
        valores = _det_nfe(inf, n, item, cfop, nfce, aliquotas, imposto_seletivo and n == 1)
        if valores is not None:
            totais.itens.append(valores[0])
            valor_nf_tot += valores[1]
    total = _total_nfe(inf, itens_nfe, totais if aliquotas else None, valor_nf_tot)
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

    prot = _processo(nfe, _N, "nfeProc", "protNFe", "4.00")
    _inf_prot(prot, _N, "chNFe", chave, ambiente, dh_emi, rng, digest_value_de(inf),
              codigo_status, _MOTIVOS_NFE.get(codigo_status, "Rejeicao"), f"{emit.uf}_NFE_PL009_V4")  # fmt: skip
    return DocumentoGerado(chave, _serializar(prot.getparent()))


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


def _ide_nfe(inf, chave, natureza, dh_emi, tipo_operacao, id_destino, emit, nfce, ambiente, dest,
             finalidade=1, referenciada=None) -> None:  # fmt: skip
    saida = tipo_operacao == "saida"
    consumidor_final = nfce or (dest is not None and dest.tipo == "CPF")
    ide = etree.SubElement(inf, _N + "ide")
    _campos(ide, _N, [
        ("cUF", chave[:2]), ("cNF", chave[35:43]), ("natOp", natureza), ("mod", chave[20:22]),
        ("serie", int(chave[22:25])), ("nNF", int(chave[25:34])), ("dhEmi", _dh(dh_emi)),
        ("dhSaiEnt", None if nfce else _dh(dh_emi + timedelta(hours=1))),
        ("tpNF", "1" if saida else "0"), ("idDest", id_destino), ("cMunFG", emit.codigo_municipio),
        ("tpImp", "4" if nfce else "1"), ("tpEmis", chave[34]), ("cDV", chave[43]), ("tpAmb", ambiente),
        ("finNFe", finalidade),
        # TTpNFDebito / TTpNFCredito (NT 2025.002-RTC): 01 is the first type of each list.
        ("tpNFDebito", "01" if finalidade == 6 else None), ("tpNFCredito", "01" if finalidade == 5 else None),
        ("indFinal", "1" if consumidor_final else "0"), ("indPres", "1" if nfce else "9"),
        ("indIntermed", "0"), ("procEmi", "0"), ("verProc", "FISCAL-GERADOR 1.0"),
    ])  # fmt: skip
    if referenciada:
        _campos(etree.SubElement(ide, _N + "NFref"), _N, [("refNFe", referenciada)])


def _parte_nfe(inf, tag: str, tag_endereco: str, parte: _Parte, campos_fiscais: list[tuple[str, object]]) -> None:
    """emit or dest: document and name, the address, then the IE fields (which differ between them)."""
    el = etree.SubElement(inf, _N + tag)
    _campos(el, _N, [(parte.tipo, parte.documento), ("xNome", parte.nome)])
    exterior = parte.uf == "EX"
    _campos(etree.SubElement(el, _N + tag_endereco), _N, [
        ("xLgr", parte.logradouro), ("nro", parte.numero), ("xBairro", parte.bairro),
        ("cMun", parte.codigo_municipio), ("xMun", parte.municipio), ("UF", parte.uf),
        ("CEP", None if exterior else parte.cep), ("cPais", "2496" if exterior else "1058"),
        ("xPais", "ESTADOS UNIDOS" if exterior else "BRASIL"), ("fone", parte.fone),
    ])  # fmt: skip
    _campos(el, _N, campos_fiscais)


def _det_nfe(inf, n: int, item: _Item, cfop: str, nfce: bool, aliquotas: Aliquotas | None = None,
             com_imposto_seletivo: bool = False):  # fmt: skip
    """One det; with the reform, its IBSCBS (and IS) and vItem, returning (the item's values, vItem)."""
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
    if aliquotas is None:
        return None
    base = item.valor - item.desconto + item.frete
    seletivo = grupo_imposto_seletivo(imposto, _N, base, item.quantidade, item.unidade) if com_imposto_seletivo else _ZERO
    valores = grupo_ibscbs(imposto, _N, base, aliquotas)
    valores.imposto_seletivo = seletivo
    valor_item = item.valor - item.desconto + item.frete + item.ipi
    if aliquotas.por_fora:
        valor_item += valores.ibs + valores.cbs + seletivo
    _campos(det, _N, [("vItem", _v(valor_item))])
    return valores, valor_item


def _total_nfe(inf, itens: list[_Item], reforma: TotaisReforma | None = None, valor_nf_tot: Decimal = _ZERO) -> Decimal:
    def soma(campo: str) -> Decimal:
        return sum((getattr(i, campo) for i in itens), _ZERO)

    produtos, frete, desconto, ipi = soma("valor"), soma("frete"), soma("desconto"), soma("ipi")
    total = produtos - desconto + frete + ipi
    total_el = etree.SubElement(inf, _N + "total")
    _campos(etree.SubElement(total_el, _N + "ICMSTot"), _N, [
        ("vBC", _v(soma("base_icms"))), ("vICMS", _v(soma("icms"))), ("vICMSDeson", "0.00"),
        ("vFCP", "0.00"), ("vBCST", "0.00"), ("vST", "0.00"), ("vFCPST", "0.00"), ("vFCPSTRet", "0.00"),
        ("vProd", _v(produtos)), ("vFrete", _v(frete)), ("vSeg", "0.00"), ("vDesc", _v(desconto)),
        ("vII", "0.00"), ("vIPI", _v(ipi)), ("vIPIDevol", "0.00"), ("vPIS", _v(soma("pis"))),
        ("vCOFINS", _v(soma("cofins"))), ("vOutro", "0.00"), ("vNF", _v(total)),
    ])  # fmt: skip
    if reforma is not None:
        totais_nfe(total_el, _N, reforma, valor_nf_tot)
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


def _informacao_complementar(rng) -> str:
    return f"PEDIDO {rng.randint(1000, 99999)}. DOCUMENTO EMITIDO POR ME OU EPP OPTANTE PELO SIMPLES NACIONAL: NAO"
