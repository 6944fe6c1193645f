"""NF-e (mod 55) and NFC-e (mod 65) readers: `nfeProc`, bare `NFe`, and the `resNFe` summary."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from lxml import etree

from core.documentos.dados import ZERO, DadosNFe, ItemNFe, Parte, Protocolo, ResumoNFe

from .comum import (
    NS_NFE,
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    Grupo,
    chave_do_id,
    nome_local,
    protocolo,
    tipo_operacao,
    valor_icms,
)

_NFE = f"{{{NS_NFE}}}NFe"
_NFE_PROC = f"{{{NS_NFE}}}nfeProc"
_RES_NFE = f"{{{NS_NFE}}}resNFe"


def ler_nfe(raiz: etree._Element) -> DadosNFe:
    if raiz.tag == _NFE_PROC:
        proc = Grupo(raiz, "nfeProc")
        nfe = proc.grupo("NFe")
        prot_nfe = proc.grupo_opcional("protNFe")
        prot = protocolo(prot_nfe.grupo("infProt"), "chNFe") if prot_nfe else None
    elif raiz.tag == _NFE:
        nfe, prot = Grupo(raiz, "NFe"), None
    else:
        raise DocumentoNaoSuportado(f"esperado nfeProc ou NFe, recebido {nome_local(raiz)}")
    inf = nfe.grupo("infNFe")
    inf.caminho = "infNFe"  # messages name paths from infNFe, whatever the envelope
    return _dados_nfe(inf, prot)


def _dados_nfe(inf: Grupo, prot: Protocolo | None) -> DadosNFe:
    ide = inf.grupo("ide")
    modelo = ide.texto("mod")
    if modelo not in ("55", "65"):
        raise DocumentoIncompleto(f"valor inválido em {ide.caminho}/mod: {modelo!r} (esperado 55 ou 65)")
    dest = inf.grupo_opcional("dest")
    tot = inf.grupo("total").grupo("ICMSTot")
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
        valor_total=tot.decimal("vNF"),
        valor_produtos=tot.decimal("vProd"),
        valor_icms=tot.decimal_opcional("vICMS"),
        valor_ipi=tot.decimal_opcional("vIPI"),
        valor_frete=tot.decimal_opcional("vFrete"),
        valor_desconto=tot.decimal_opcional("vDesc"),
        itens=[_item(det, inf.caminho) for det in inf.todos("det")],
        protocolo=prot,
        data_saida_entrada=ide.data_opcional("dhSaiEnt"),
        codigo_uf=ide.texto("cUF"),
        tipo_emissao=ide.texto("tpEmis"),
        codigo_numerico=ide.texto("cNF"),
        digito_verificador=ide.texto("cDV"),
    )


def _data_emissao(ide: Grupo) -> datetime:
    # Layouts before 3.10 had dEmi (a date only); read it so old files still import.
    if "dhEmi" not in ide and "dEmi" in ide:
        return ide.data("dEmi")
    return ide.data("dhEmi")


def _emitente(emit: Grupo) -> Parte:
    emit.documento_obrigatorio()
    emit.texto("xNome")
    return emit.parte("enderEmit")


def _item(det: etree._Element, caminho: str) -> ItemNFe:
    numero_texto = (det.get("nItem") or "").strip()
    grupo = Grupo(det, f"{caminho}/det[{numero_texto or '?'}]")
    if not numero_texto.isdigit():
        raise DocumentoIncompleto(f"valor inválido em {caminho}/det/@nItem: {numero_texto!r}")
    prod = grupo.grupo("prod")
    imposto = grupo.grupo_opcional("imposto")
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
        valor_icms=valor_icms(imposto.grupo_opcional("ICMS")) if imposto else ZERO,
        valor_ipi=_valor_ipi(imposto),
        ean=prod.opcional("cEAN"),
    )


def _valor_ipi(imposto: Grupo | None) -> Decimal:
    ipi = imposto.grupo_opcional("IPI") if imposto else None
    trib = ipi.grupo_opcional("IPITrib") if ipi else None
    return trib.decimal_opcional("vIPI") if trib else ZERO


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
