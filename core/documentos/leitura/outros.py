"""DF-e kinds stored in part (`OutroDocumento`): GTV-e and CT-e Simplificado, from the PL_CTe_400 schemas,
and any signed DF-e of the nfe/cte namespaces this release does not know (`estrutura.localizar_desconhecido`).

- GTV-e (`GTVe_v4.00.xsd`, `procGTVe_v4.00.xsd`): infCte/ide (mod 64, serie, nCT, dhEmi...), emit, and the
  value carried in detGTV/infEspecie/vEspecie (one per species: their sum is the document's value).
- CT-e Simplificado (`cteSimp_v4.00.xsd`, `procCTeSimp_v4.00.xsd`): infCte/ide (mod 57, tpCTe 5 or 6),
  emit, total/vTPrest.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from core.documentos.chave import decompor_chave
from core.documentos.dados import DadosOutro, Parte, Protocolo

from .comum import (
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    Grupo,
    chave_do_id,
    cnpj_paa,
    decimal_em,
    nome_local,
    protocolo,
)
from .estrutura import Estrutura, chave_do_assinado, localizar

TIPOS_OUTROS = {"GTVeProc": "gtve", "GTVe": "gtve", "cteSimpProc": "cte_simplificado", "CTeSimp": "cte_simplificado"}
_MODELOS = {"gtve": "64", "cte_simplificado": "57"}


def ler_outro(origem: etree._Element | Estrutura) -> DadosOutro:
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    tipo = TIPOS_OUTROS.get(estrutura.tipo)
    if tipo is None:
        return ler_desconhecido(estrutura)
    prot = None
    if estrutura.protocolo is not None:
        prot = protocolo(Grupo(estrutura.protocolo, f"{estrutura.tipo}/protCTe").grupo("infProt"), "chCTe")
    inf = Grupo(estrutura.assinado, "infCte")
    ide = inf.grupo("ide")
    modelo = ide.texto("mod")
    if modelo != _MODELOS[tipo]:
        raise DocumentoIncompleto(f"valor inválido em {ide.caminho}/mod: {modelo!r} (esperado {_MODELOS[tipo]})")
    emit = inf.grupo("emit")
    emit.documento_obrigatorio()
    return DadosOutro(
        chave=chave_do_id(inf, "CTe"),
        tipo=tipo,
        modelo=modelo,
        serie=ide.inteiro("serie"),
        numero=ide.inteiro("nCT"),
        data_emissao=ide.data("dhEmi"),
        natureza_operacao=ide.opcional("natOp"),
        ambiente=ide.inteiro("tpAmb"),
        emitente=emit.parte("enderEmit"),
        valor_total=_valor(inf, tipo),
        protocolo=prot,
        codigo_uf=ide.texto("cUF"),
        tipo_emissao=ide.texto("tpEmis"),
        codigo_numerico=ide.opcional("cCT"),
        digito_verificador=ide.texto("cDV"),
        cnpj_paa=cnpj_paa(inf),
    )


def _valor(inf: Grupo, tipo: str) -> Decimal | None:
    if tipo == "cte_simplificado":
        total = inf.grupo_opcional("total")
        return total.decimal("vTPrest") if total and "vTPrest" in total else None
    especies = inf.el.iterfind(f"{inf.ns}detGTV/{inf.ns}infEspecie/{inf.ns}vEspecie")
    valores = [decimal_em(f"{inf.caminho}/detGTV/infEspecie/vEspecie", (v.text or "").strip()) for v in especies]
    return sum(valores, Decimal("0.00")) if valores else None


# Signed elements of the kinds read in full: under an unknown root they are a disguise, not a new kind.
_CONHECIDOS = frozenset({"infNFe", "infCte", "infEvento", "infCanc"})


def ler_desconhecido(estrutura: Estrutura) -> DadosOutro:
    """What every DF-e has, from an unknown kind: the key (and what it packs), ide/emit when present, protocol."""
    nome_assinado = nome_local(estrutura.assinado)
    if nome_assinado in _CONHECIDOS:
        raise DocumentoNaoSuportado(
            f"raiz {estrutura.tipo} desconhecida envolvendo um {nome_assinado}: o documento deve vir no envelope do seu leiaute"
        )
    chave = chave_do_assinado(estrutura.assinado)
    partes = decompor_chave(chave)
    inf = Grupo(estrutura.assinado, f"{estrutura.tipo}/{nome_assinado}")
    ide = inf.grupo_opcional("ide")
    emit = inf.grupo_opcional("emit")
    prot = _protocolo_generico(estrutura.protocolo, chave) if estrutura.protocolo is not None else None
    if ide is not None and "dhEmi" in ide:
        data_emissao = ide.data("dhEmi")
    elif prot is not None and prot.data_recebimento is not None:
        data_emissao = prot.data_recebimento
    else:
        raise DocumentoIncompleto(f"elemento obrigatório ausente: {inf.caminho}/ide/dhEmi")
    emitente = emit.parte("enderEmit") if emit is not None else Parte()
    if not emitente.documento:
        emitente = Parte(documento=partes.cnpj_emitente, tipo_documento="cnpj", nome=emitente.nome, uf=emitente.uf)
    ambiente = (ide.inteiro_opcional("tpAmb") if ide is not None else None) or (prot.ambiente if prot else None) or 1
    return DadosOutro(
        chave=chave,
        tipo="outro",
        modelo=partes.modelo,
        serie=partes.serie,
        numero=partes.numero,
        data_emissao=data_emissao,
        natureza_operacao=ide.opcional("natOp") if ide is not None else "",
        ambiente=ambiente,
        emitente=emitente,
        valor_total=None,
        protocolo=prot,
        codigo_uf=partes.codigo_uf,
        tipo_emissao=partes.tipo_emissao,
        codigo_numerico=partes.codigo_numerico,
        digito_verificador=str(partes.digito),
        cnpj_paa=cnpj_paa(inf),
    )


def _protocolo_generico(elemento: etree._Element, chave: str) -> Protocolo:
    inf = Grupo(elemento, nome_local(elemento)).grupo("infProt")
    campos_chave = [nome_local(f) for f in inf.el if isinstance(f.tag, str) and nome_local(f).startswith("ch")]
    return protocolo(inf, campos_chave[0]) if campos_chave else Protocolo(
        chave=chave, codigo_status=inf.inteiro("cStat"), motivo=inf.opcional("xMotivo"), numero=inf.opcional("nProt"),
        data_recebimento=inf.data_opcional("dhRecbto"), digest_value=inf.opcional("digVal"),
        ambiente=inf.inteiro_opcional("tpAmb"),
    )
