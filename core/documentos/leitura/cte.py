"""CT-e (mod 57: `cteProc`, bare `CTe`) and CT-e OS (mod 67: `cteOSProc`, bare `CTeOS`) reader."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from core.documentos.dados import ZERO, DadosCTe, Parte, Protocolo

from .comum import (
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    Grupo,
    chave_do_id,
    cnpj_paa,
    protocolo,
    valor_icms,
)
from .estrutura import Estrutura, localizar
from .reforma import tributos_do_cte

TIPOS_CTE = frozenset({"cteProc", "CTe", "cteOSProc", "CTeOS"})

# ide/toma3/toma -> the party group that is the tomador, and its address group.
_PAPEIS_TOMA3 = {
    "0": ("rem", "enderReme"),
    "1": ("exped", "enderExped"),
    "2": ("receb", "enderReceb"),
    "3": ("dest", "enderDest"),
}


def ler_cte(origem: etree._Element | Estrutura) -> DadosCTe:
    """Read a CT-e or CT-e OS from the located envelope: the infCte read is the one the signature covers."""
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    if estrutura.tipo not in TIPOS_CTE:
        raise DocumentoNaoSuportado(f"esperado cteProc, cteOSProc, CTe ou CTeOS, recebido {estrutura.tipo}")
    prot = None
    if estrutura.protocolo is not None:
        prot = protocolo(Grupo(estrutura.protocolo, f"{estrutura.tipo}/protCTe").grupo("infProt"), "chCTe")
    # Messages name paths from infCte, whatever the envelope.
    return _dados_cte(Grupo(estrutura.assinado, "infCte"), prot)


def _dados_cte(inf: Grupo, prot: Protocolo | None) -> DadosCTe:
    ide = inf.grupo("ide")
    modelo = ide.texto("mod")
    if modelo not in ("57", "67"):
        raise DocumentoIncompleto(f"valor inválido em {ide.caminho}/mod: {modelo!r} (esperado 57 ou 67)")
    partes = {nome: inf.grupo_opcional(nome) for nome in ("rem", "exped", "receb", "dest")}
    tomador_papel, tomador = _tomador(inf, ide, partes)
    vprest = inf.grupo("vPrest")
    imp = inf.grupo_opcional("imp")
    norm = inf.grupo_opcional("infCTeNorm")
    return DadosCTe(
        chave=chave_do_id(inf, "CTe"),
        modelo=modelo,
        serie=ide.inteiro("serie"),
        numero=ide.inteiro("nCT"),
        data_emissao=ide.data("dhEmi"),
        natureza_operacao=ide.texto("natOp"),
        cfop=ide.opcional("CFOP"),
        ambiente=ide.inteiro("tpAmb"),
        tipo_cte=ide.opcional("tpCTe"),
        modal=ide.opcional("modal"),
        tipo_servico=ide.opcional("tpServ"),
        emitente=_emitente(inf.grupo("emit")),
        remetente=_parte(partes["rem"], "enderReme"),
        destinatario=_parte(partes["dest"], "enderDest"),
        expedidor=_parte(partes["exped"], "enderExped"),
        recebedor=_parte(partes["receb"], "enderReceb"),
        tomador=tomador,
        tomador_papel=tomador_papel,
        # Optional in CT-e OS (e.g. services without a route).
        codigo_municipio_inicio=ide.opcional("cMunIni"),
        municipio_inicio=ide.opcional("xMunIni"),
        uf_inicio=ide.opcional("UFIni"),
        codigo_municipio_fim=ide.opcional("cMunFim"),
        municipio_fim=ide.opcional("xMunFim"),
        uf_fim=ide.opcional("UFFim"),
        valor_prestacao=vprest.decimal("vTPrest"),
        valor_receber=vprest.decimal("vRec"),
        valor_carga=_valor_carga(norm),
        valor_icms=valor_icms(imp.grupo_opcional("ICMS")) if imp else ZERO,
        chaves_nfe=_chaves_nfe(norm),
        protocolo=prot,
        codigo_uf=ide.texto("cUF"),
        tipo_emissao=ide.texto("tpEmis"),
        codigo_numerico=ide.texto("cCT"),
        digito_verificador=ide.texto("cDV"),
        cnpj_paa=cnpj_paa(inf),
        tributos=tributos_do_cte(imp),
    )


def _emitente(emit: Grupo) -> Parte:
    emit.documento_obrigatorio()
    emit.texto("xNome")
    return emit.parte("enderEmit")


def _parte(grupo: Grupo | None, endereco: str) -> Parte | None:
    return grupo.parte(endereco) if grupo else None


def _tomador(inf: Grupo, ide: Grupo, partes: dict[str, Grupo | None]) -> tuple[str, Parte | None]:
    """toma3 points at rem/exped/receb/dest; toma4 (and CT-e OS `toma`) carries its own data."""
    toma3 = ide.grupo_opcional("toma3")
    if toma3 is not None:
        papel = toma3.texto("toma")
        if papel not in _PAPEIS_TOMA3:
            raise DocumentoIncompleto(f"valor inválido em {toma3.caminho}/toma: {papel!r}")
        nome, endereco = _PAPEIS_TOMA3[papel]
        grupo = partes[nome]
        if grupo is None:  # SEFAZ rejects this, so only a broken file gets here
            raise DocumentoIncompleto(
                f"elemento obrigatório ausente: {inf.caminho}/{nome} (tomador indicado em toma3/toma={papel})"
            )
        return papel, grupo.parte(endereco)
    toma4 = ide.grupo_opcional("toma4")
    if toma4 is not None:
        return toma4.opcional("toma", "4"), toma4.parte("enderToma")
    toma_os = inf.grupo_opcional("toma")  # CT-e OS: a direct group, no role code; "4" = own data
    if toma_os is not None:
        return "4", toma_os.parte("enderToma")
    return "", None


def _valor_carga(norm: Grupo | None) -> Decimal:
    carga = norm.grupo_opcional("infCarga") if norm else None
    return carga.decimal_opcional("vCarga") if carga else ZERO


def _chaves_nfe(norm: Grupo | None) -> list[str]:
    inf_doc = norm.grupo_opcional("infDoc") if norm else None
    if inf_doc is None:
        return []
    chaves = []
    for inf_nfe in inf_doc.todos("infNFe"):
        chave = Grupo(inf_nfe, f"{inf_doc.caminho}/infNFe", inf_doc.ns).texto("chave")
        chaves.append(chave.upper())
    return chaves
