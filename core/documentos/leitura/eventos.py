"""Event readers: `procEventoNFe`, `procEventoCTe` (full) and `resEvento` (the distribution summary)."""

from __future__ import annotations

from lxml import etree

from core.documentos.dados import DadosEvento, Protocolo

from .comum import NS_CTE, NS_NFE, DocumentoNaoSuportado, Grupo, nome_local

_PROC_EVENTO_NFE = f"{{{NS_NFE}}}procEventoNFe"
_PROC_EVENTO_CTE = f"{{{NS_CTE}}}procEventoCTe"
_RES_EVENTO = f"{{{NS_NFE}}}resEvento"

# resEvento carries nProt/dhRecbto but no cStat: the protocol gets this code, meaning "not informed".
# (The AN only distributes registered events; `completo=False` tells the pipeline it is a summary.)
STATUS_NAO_INFORMADO = 0


def ler_evento(raiz: etree._Element) -> DadosEvento:
    tag = raiz.tag
    if tag == _PROC_EVENTO_NFE:
        return _evento_completo(Grupo(raiz, "procEventoNFe"), "evento", "retEvento", "chNFe", "nfe")
    if tag == _PROC_EVENTO_CTE:
        return _evento_completo(Grupo(raiz, "procEventoCTe"), "eventoCTe", "retEventoCTe", "chCTe", "cte")
    if tag == _RES_EVENTO:
        return _resumo_evento(Grupo(raiz, "resEvento"))
    raise DocumentoNaoSuportado(f"esperado procEventoNFe, procEventoCTe ou resEvento, recebido {nome_local(raiz)}")


def _evento_completo(proc: Grupo, nome_evento: str, nome_retorno: str, campo_chave: str, tipo: str) -> DadosEvento:
    inf = proc.grupo(nome_evento).grupo("infEvento")
    inf.caminho = f"{nome_evento}/infEvento"
    chave = inf.texto(campo_chave).upper()
    det = inf.grupo_opcional("detEvento")
    detalhes = folhas(det.el) if det else {}
    retorno = proc.grupo_opcional(nome_retorno)
    inf_ret = retorno.grupo("infEvento") if retorno else None
    return DadosEvento(
        chave=chave,
        tipo_documento=tipo,
        tipo_evento=inf.texto("tpEvento"),
        sequencia=inf.inteiro("nSeqEvento"),
        # NF-e has detEvento/descEvento; CT-e nests it (detEvento/evCancCTe/descEvento): folhas finds both.
        descricao=detalhes.get("descEvento") or (inf_ret.opcional("xEvento") if inf_ret else ""),
        data_evento=inf.data("dhEvento"),
        ambiente=inf.inteiro_opcional("tpAmb"),
        orgao=inf.opcional("cOrgao"),
        autor_documento=inf.documento()[1],
        completo=True,
        protocolo=_protocolo_evento(inf_ret, campo_chave, chave) if inf_ret else None,
        detalhes=detalhes,
        id_evento=_id_evento(inf),
    )


def _protocolo_evento(inf_ret: Grupo, campo_chave: str, chave: str) -> Protocolo:
    """retEvento/infEvento: cStat 135 (linked), 136 (registered, not linked), 155 (late cancellation)..."""
    return Protocolo(
        chave=inf_ret.opcional(campo_chave).upper() or chave,  # optional in the schema
        codigo_status=inf_ret.inteiro("cStat"),
        motivo=inf_ret.opcional("xMotivo"),
        numero=inf_ret.opcional("nProt"),
        data_recebimento=inf_ret.data_opcional("dhRegEvento"),
        ambiente=inf_ret.inteiro_opcional("tpAmb"),
    )


def _id_evento(inf: Grupo) -> str:
    valor = (inf.el.get("Id") or "").strip()
    return valor[2:] if valor.startswith("ID") else valor


def _resumo_evento(res: Grupo) -> DadosEvento:
    chave = res.texto("chNFe").upper()
    return DadosEvento(
        chave=chave,
        tipo_documento="nfe",  # resEvento exists only in the NF-e distribution (nfe namespace)
        tipo_evento=res.texto("tpEvento"),
        sequencia=res.inteiro("nSeqEvento"),
        descricao=res.opcional("xEvento"),
        data_evento=res.data("dhEvento"),
        ambiente=None,  # not in the summary layout
        orgao=res.opcional("cOrgao"),
        autor_documento=res.documento()[1],
        completo=False,
        protocolo=Protocolo(
            chave=chave,
            codigo_status=STATUS_NAO_INFORMADO,
            numero=res.opcional("nProt"),
            data_recebimento=res.data_opcional("dhRecbto"),
        ),
    )


def folhas(el: etree._Element) -> dict[str, str]:
    """Leaf text under detEvento by local name; a repeated name gets a suffix ("campoAlterado_2")."""
    resultado: dict[str, str] = {}
    for sub in el.iterdescendants():
        if sub.tag.__class__ is not str or any(f.tag.__class__ is str for f in sub):
            continue  # comments, and groups: only leaves carry values
        nome = nome_local(sub)
        chave, n = nome, 1
        while chave in resultado:
            n += 1
            chave = f"{nome}_{n}"
        resultado[chave] = (sub.text or "").strip()
    return resultado

