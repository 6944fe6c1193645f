"""DF-e kinds stored in part (`OutroDocumento`): GTV-e and CT-e Simplificado, from the PL_CTe_400 schemas.

- GTV-e (`GTVe_v4.00.xsd`, `procGTVe_v4.00.xsd`): infCte/ide (mod 64, serie, nCT, dhEmi...), emit, and the
  value carried in detGTV/infEspecie/vEspecie (one per species: their sum is the document's value).
- CT-e Simplificado (`cteSimp_v4.00.xsd`, `procCTeSimp_v4.00.xsd`): infCte/ide (mod 57, tpCTe 5 or 6),
  emit, total/vTPrest.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from core.documentos.dados import DadosOutro

from .comum import DocumentoIncompleto, DocumentoNaoSuportado, Grupo, chave_do_id, cnpj_paa, decimal_em, protocolo
from .estrutura import Estrutura, localizar

TIPOS_OUTROS = {"GTVeProc": "gtve", "GTVe": "gtve", "cteSimpProc": "cte_simplificado", "CTeSimp": "cte_simplificado"}
_MODELOS = {"gtve": "64", "cte_simplificado": "57"}


def ler_outro(origem: etree._Element | Estrutura) -> DadosOutro:
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    tipo = TIPOS_OUTROS.get(estrutura.tipo)
    if tipo is None:
        raise DocumentoNaoSuportado(f"esperado GTVeProc ou cteSimpProc, recebido {estrutura.tipo}")
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
