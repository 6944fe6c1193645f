"""NF-e (mod 55) and NFC-e (mod 65) readers: `nfeProc`, bare `NFe`, and the `resNFe` summary."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from core.documentos.dados import ZERO, DadosNFe, ItemNFe, Parte, Protocolo, ResumoNFe

from .comum import (
    NS_NFE,
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    Grupo,
    chave_do_id,
    cnpj_paa,
    decimal_em,
    nome_local,
    protocolo,
    tipo_operacao,
)
from .estrutura import Estrutura, localizar
from .reforma import tributos_do_item, tributos_do_total

_RES_NFE = f"{{{NS_NFE}}}resNFe"

# One compiled XPath per item tax instead of five child lookups: the ICMS group's name varies
# (ICMS00, ICMS20, ..., ICMSSN900) and only some have vICMS; string() gives "" when absent.
_NS = {"n": NS_NFE}
_VICMS_ITEM = etree.XPath("string(n:imposto/n:ICMS/*/n:vICMS)", namespaces=_NS)
_VIPI_ITEM = etree.XPath("string(n:imposto/n:IPI/n:IPITrib/n:vIPI)", namespaces=_NS)


def ler_nfe(origem: etree._Element | Estrutura) -> DadosNFe:
    """Read `nfeProc`/`NFe` from the located envelope: the infNFe read is the one the signature covers."""
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    if estrutura.tipo not in ("nfeProc", "NFe"):
        raise DocumentoNaoSuportado(f"esperado nfeProc ou NFe, recebido {estrutura.tipo}")
    prot = None
    if estrutura.protocolo is not None:
        prot = protocolo(Grupo(estrutura.protocolo, f"{estrutura.tipo}/protNFe").grupo("infProt"), "chNFe")
    # Messages name paths from infNFe, whatever the envelope.
    return _dados_nfe(Grupo(estrutura.assinado, "infNFe"), prot)


def _dados_nfe(inf: Grupo, prot: Protocolo | None) -> DadosNFe:
    ide = inf.grupo("ide")
    modelo = ide.texto("mod")
    if modelo not in ("55", "65"):
        raise DocumentoIncompleto(f"valor inválido em {ide.caminho}/mod: {modelo!r} (esperado 55 ou 65)")
    dest = inf.grupo_opcional("dest")
    total = inf.grupo("total")
    tot = total.grupo("ICMSTot")
    return DadosNFe(
        chave=chave_do_id(inf, "NFe"),
        modelo=modelo,
        serie=ide.inteiro("serie"),
        numero=ide.inteiro("nNF"),
        data_emissao=_data_emissao(ide),
        natureza_operacao=ide.texto("natOp"),
        tipo_operacao=tipo_operacao(ide),
        ambiente=ide.inteiro("tpAmb"),
        emitente=_emitente(inf.grupo("emit")),
        destinatario=dest.parte("enderDest", estrangeiro=True) if dest else None,
        valor_nf=tot.decimal("vNF"),
        valor_produtos=tot.decimal("vProd"),
        valor_icms=tot.decimal_opcional("vICMS"),
        valor_ipi=tot.decimal_opcional("vIPI"),
        valor_frete=tot.decimal_opcional("vFrete"),
        valor_desconto=tot.decimal_opcional("vDesc"),
        itens=[_item(det, inf) for det in inf.todos("det")],
        protocolo=prot,
        data_saida_entrada=ide.data_opcional("dhSaiEnt"),
        codigo_uf=ide.texto("cUF"),
        tipo_emissao=ide.texto("tpEmis"),
        codigo_numerico=ide.texto("cNF"),
        digito_verificador=ide.texto("cDV"),
        cnpj_paa=cnpj_paa(inf),
        finalidade=_finalidade(ide),
        tributos=tributos_do_total(total),
    )


def _finalidade(ide: Grupo) -> int | None:
    # Required by every 4.00 layout; absent only in very old files, which still import.
    if "finNFe" not in ide:
        return None
    valor = ide.texto("finNFe")
    if valor not in ("1", "2", "3", "4", "5", "6"):  # TFinNFe (5 and 6: NT 2025.002-RTC)
        raise DocumentoIncompleto(f"valor inválido em {ide.caminho}/finNFe: {valor!r} (esperado de 1 a 6)")
    return int(valor)


def _data_emissao(ide: Grupo) -> datetime:
    # Layouts before 3.10 had dEmi (a date only); read it so old files still import.
    if "dhEmi" not in ide and "dEmi" in ide:
        return ide.data("dEmi")
    return ide.data("dhEmi")


def _emitente(emit: Grupo) -> Parte:
    emit.documento_obrigatorio()
    emit.texto("xNome")
    return emit.parte("enderEmit")


def _item(det: etree._Element, inf: Grupo) -> ItemNFe:
    numero_texto = (det.get("nItem") or "").strip()
    if not (numero_texto.isascii() and numero_texto.isdigit()):
        raise DocumentoIncompleto(f"valor inválido em {inf.caminho}/det/@nItem: {numero_texto!r}")
    grupo = Grupo(det, f"{inf.caminho}/det[{numero_texto}]", inf.ns)
    prod = grupo.grupo("prod")
    v_icms = _VICMS_ITEM(det).strip()
    v_ipi = _VIPI_ITEM(det).strip()
    return ItemNFe(
        numero=int(numero_texto),
        codigo=prod.texto("cProd"),
        descricao=prod.texto("xProd"),
        ncm=prod.opcional("NCM"),
        cfop=prod.opcional("CFOP"),
        unidade=prod.opcional("uCom"),
        quantidade=prod.decimal_opcional("qCom"),
        valor_unitario=prod.decimal_opcional("vUnCom"),
        valor_total=prod.decimal("vProd"),
        valor_desconto=prod.decimal_opcional("vDesc"),
        valor_icms=decimal_em(f"{grupo.caminho}/imposto/ICMS/*/vICMS", v_icms) if v_icms else ZERO,
        valor_ipi=decimal_em(f"{grupo.caminho}/imposto/IPI/IPITrib/vIPI", v_ipi) if v_ipi else ZERO,
        ean=prod.opcional("cEAN"),
        **tributos_do_item(grupo),
    )


def ler_resumo_nfe(raiz: etree._Element) -> ResumoNFe:
    if raiz.tag != _RES_NFE:
        raise DocumentoNaoSuportado(f"esperado resNFe, recebido {nome_local(raiz)}")
    res = Grupo(raiz, "resNFe")
    res.documento_obrigatorio()
    return ResumoNFe(
        chave=res.texto("chNFe").upper(),
        emitente=res.parte(),
        data_emissao=res.data("dhEmi"),
        tipo_operacao=tipo_operacao(res),
        valor_total=res.decimal("vNF"),
        digest_value=res.opcional("digVal"),
        protocolo_numero=res.opcional("nProt"),
        data_recebimento=res.data_opcional("dhRecbto"),
        situacao_nfe=res.inteiro("cSitNFe"),
    )
