"""Event readers: `procEventoNFe`, `procEventoCTe` (full), `resEvento` (the distribution summary) and the
old-layout cancellations `procCancNFe`/`procCancCTe`/`retCancNFe`/`retCancCTe`."""

from __future__ import annotations

from lxml import etree

from core.documentos.dados import DadosEvento, Protocolo

from .comum import DocumentoIncompleto, DocumentoNaoSuportado, Grupo, cnpj_paa, nome_local
from .estrutura import Estrutura, localizar

# resEvento carries nProt/dhRecbto but no cStat: the protocol gets this code, meaning "not informed".
# (The AN only distributes registered events; `completo=False` tells the pipeline it is a summary.)
STATUS_NAO_INFORMADO = 0


def ler_evento(origem: etree._Element | Estrutura) -> DadosEvento:
    """Read an event from the located envelope: the infEvento read is the one the signature covers."""
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    tipo = estrutura.tipo
    if tipo == "procEventoNFe":
        return _evento_completo(estrutura, "evento", "chNFe", "nfe")
    if tipo == "procEventoCTe":
        return _evento_completo(estrutura, "eventoCTe", "chCTe", "cte")
    if tipo == "resEvento":
        return _resumo_evento(Grupo(estrutura.raiz, "resEvento"))
    if tipo in _CANCELAMENTOS_ANTIGOS:
        return _cancelamento_antigo(estrutura)
    raise DocumentoNaoSuportado(
        f"esperado procEventoNFe, procEventoCTe, resEvento, procCancNFe, procCancCTe, retCancNFe ou retCancCTe, "
        f"recebido {tipo}"
    )


def _evento_completo(estrutura: Estrutura, nome_evento: str, campo_chave: str, tipo: str) -> DadosEvento:
    inf = Grupo(estrutura.assinado, f"{nome_evento}/infEvento")
    chave = inf.texto(campo_chave).upper()
    det = inf.grupo_opcional("detEvento")
    detalhes = folhas(det.el) if det else {}
    inf_ret = None
    if estrutura.protocolo is not None:
        nome_retorno = nome_local(estrutura.protocolo)
        inf_ret = Grupo(estrutura.protocolo, nome_retorno).grupo("infEvento")
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
        cnpj_paa=cnpj_paa(inf),
    )


# Old-layout cancellations (before the 110111 event, 2012): NF-e PL_006 `procCancNFe_v2.00.xsd`
# (cancNFe/infCanc + retCancNFe/infCanc), CT-e PL_CTe_200 `cancCTeTiposBasico_v2.00.xsd` (cancCTe, retCancCTe).
# They become a cancellation event (110111, sequence 1) so every cancellation is found in one place.
_CANCELAMENTOS_ANTIGOS = {
    "procCancNFe": ("nfe", "chNFe", "retCancNFe"),
    "retCancNFe": ("nfe", "chNFe", "retCancNFe"),
    "procCancCTe": ("cte", "chCTe", "retCancCTe"),
    "retCancCTe": ("cte", "chCTe", "retCancCTe"),
}
TIPO_CANCELAMENTO = "110111"


def _cancelamento_antigo(estrutura: Estrutura) -> DadosEvento:
    tipo_documento, campo_chave, nome_retorno = _CANCELAMENTOS_ANTIGOS[estrutura.tipo]
    pedido = estrutura.tipo.startswith("proc")
    if pedido:
        inf_pedido = Grupo(estrutura.assinado, f"{estrutura.tipo}/infCanc")
        if estrutura.protocolo is None:
            raise DocumentoIncompleto(f"elemento obrigatório ausente: {estrutura.tipo}/{nome_retorno}")
        inf_ret = Grupo(estrutura.protocolo, nome_retorno).grupo("infCanc")
    else:
        inf_pedido, inf_ret = None, Grupo(estrutura.assinado, f"{nome_retorno}/infCanc")
    chave = (inf_pedido.texto(campo_chave) if inf_pedido else inf_ret.texto(campo_chave)).upper()
    retorno = Protocolo(
        chave=inf_ret.opcional(campo_chave).upper() or chave,
        codigo_status=inf_ret.inteiro("cStat"),
        motivo=inf_ret.opcional("xMotivo"),
        numero=inf_ret.opcional("nProt"),
        data_recebimento=inf_ret.data_opcional("dhRecbto"),
        ambiente=inf_ret.inteiro_opcional("tpAmb"),
    )
    if retorno.data_recebimento is None:
        raise DocumentoIncompleto(f"elemento obrigatório ausente: {nome_retorno}/infCanc/dhRecbto")
    detalhes = {"leiaute": estrutura.tipo}
    if inf_pedido:
        detalhes.update(nProt=inf_pedido.opcional("nProt"), xJust=inf_pedido.opcional("xJust"))
    return DadosEvento(
        chave=chave,
        tipo_documento=tipo_documento,
        tipo_evento=TIPO_CANCELAMENTO,
        sequencia=1,
        descricao=f"Cancelamento ({estrutura.tipo}, leiaute anterior aos eventos)",
        data_evento=retorno.data_recebimento,
        ambiente=(inf_pedido or inf_ret).inteiro_opcional("tpAmb"),
        orgao=inf_ret.opcional("cUF"),
        autor_documento=chave[6:20],  # only the emitter could ask for it: its CNPJ/CPF is in the key
        # The signed request is the cancellation itself; SEFAZ's answer alone is a summary of it.
        completo=pedido,
        protocolo=retorno,
        detalhes=detalhes,
        id_evento=_id_evento(inf_pedido) if inf_pedido else "",
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
    """Leaf text under detEvento by local name; a repeated name gets a suffix ("campoAlterado_2").

    The reform events repeat a group per item of the NF-e, numbered by its `nItem` attribute (e211130
    gImobilizacao, e112120 gConsumo...): their leaves carry the item ("vIBS_item3", "qImobilizado_item3").
    """
    resultado: dict[str, str] = {}
    for sub in el.iterdescendants():
        if sub.tag.__class__ is not str or any(f.tag.__class__ is str for f in sub):
            continue  # comments, and groups: only leaves carry values
        nome = nome_local(sub)
        item = _item(sub, el)
        if item:
            nome = f"{nome}_item{item}"
        chave, n = nome, 1
        while chave in resultado:
            n += 1
            chave = f"{nome}_{n}"
        resultado[chave] = (sub.text or "").strip()
    return resultado


def _item(folha: etree._Element, raiz: etree._Element) -> str:
    for grupo in folha.iterancestors():
        if grupo is raiz:
            return ""
        if grupo.get("nItem"):
            return grupo.get("nItem").strip()
    return ""
