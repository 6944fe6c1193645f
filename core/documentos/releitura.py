"""Fill the fields a newer release reads from documents stored by an older one, from their kept XML.

    relidos = reler(organizacoes)   # manage.py reler_documentos

The reform's values (IBS, CBS, IS, vItem, vNFTot, vTotDFe), finNFe and the manifestation deadline did not
exist when many documents were stored; their original XML did. Each stored full NF-e and CT-e is read
again (the same readers as an import, on the node the signature covers; the signature itself was checked
when it was stored, and `reverificar_assinaturas` re-checks it) and only the fields below are written,
where they differ. Summaries have nothing more to read. The manifestation state of every NF-e is also
recomputed from the events already stored (it did not exist either). Idempotent: a second run changes nothing.

It is a backfill, not a change of the document: no `documento_atualizado` is raised, or an upgrade would
send every stored document to every webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from core.models import CTe, NFe, NFeItem, Organizacao
from core.tenancy import escopo

from .campos import campos_cte, campos_nfe
from .leitura import ler_cte, ler_nfe, localizar
from .leitura.reforma import CAMPOS_CTE, CAMPOS_ITEM_NFE, CAMPOS_TOTAL_NFE
from .manifestacao_estado import CAMPOS_DO_ESTADO, recalcular_manifestacoes
from .xml_seguro import ler_xml

LOTE = 200
CAMPOS_NFE = ("finalidade", "valor_total", "valor_nf", *CAMPOS_TOTAL_NFE, "prazo_manifestacao")
CAMPOS_ITEM = CAMPOS_ITEM_NFE
CAMPOS_CTE_RELIDOS = CAMPOS_CTE


@dataclass(frozen=True)
class Relido:
    modelo: str
    chave: str
    campos: tuple[str, ...]  # the fields that changed ("itens" when only items did)
    erro: str = ""


def reler(organizacoes=None, *, progresso: Callable[[Relido], None] | None = None) -> tuple[int, int]:
    """Re-read every full NF-e and CT-e of `organizacoes` (all by default); (changed, unreadable)."""
    mudaram = falharam = 0
    for organizacao in organizacoes if organizacoes is not None else Organizacao.objects.order_by("pk"):
        for modelo in (NFe, CTe):
            for lote in _em_lotes(modelo, organizacao):
                for relido in _reler_lote(organizacao, modelo, lote):
                    if relido.erro:
                        falharam += 1
                    else:
                        mudaram += 1
                    if progresso:
                        progresso(relido)
        for relido in _recalcular_manifestacoes(organizacao):
            mudaram += 1
            if progresso:
                progresso(relido)
    return mudaram, falharam


def _recalcular_manifestacoes(organizacao) -> Iterator[Relido]:
    linhas = escopo(NFe, organizacao).filter(modelo="55").only("pk", "chave", "destinatario_documento", *CAMPOS_DO_ESTADO).order_by("pk")
    ultimo = 0
    while lote := list(linhas.filter(pk__gt=ultimo)[:LOTE]):
        ultimo = lote[-1].pk
        for nfe in recalcular_manifestacoes(organizacao, lote):
            yield Relido("NFe", nfe.chave, ("manifestacao",))


def _em_lotes(modelo, organizacao) -> Iterator[list]:
    linhas = escopo(modelo, organizacao).filter(completa=True).select_related("arquivo").order_by("pk")
    ultimo = 0
    while True:
        lote = list(linhas.filter(pk__gt=ultimo)[:LOTE])
        if not lote:
            return
        ultimo = lote[-1].pk
        yield lote


def _reler_lote(organizacao, modelo, lote) -> list[Relido]:
    # Parsing happens outside the transaction; only the writes are inside it.
    relidos: list[Relido] = []
    documentos, itens = [], []
    itens_guardados = _itens_guardados(organizacao, lote) if modelo is NFe else {}
    nomes = CAMPOS_NFE if modelo is NFe else CAMPOS_CTE_RELIDOS
    for documento in lote:
        try:
            dados = _ler(modelo, documento)
        except ValueError as erro:  # a kept file that no longer reads (or no longer matches its SHA-256)
            relidos.append(Relido(modelo.__name__, documento.chave, (), str(erro)))
            continue
        novos = (campos_nfe if modelo is NFe else campos_cte)(dados)
        mudados = tuple(nome for nome in nomes if getattr(documento, nome) != novos[nome])
        for nome in mudados:
            setattr(documento, nome, novos[nome])
        if mudados:
            documentos.append(documento)
        itens_mudados = _reler_itens(itens_guardados.get(documento.pk, {}), dados) if modelo is NFe else []
        itens.extend(itens_mudados)
        if mudados or itens_mudados:
            relidos.append(Relido(modelo.__name__, documento.chave, mudados or ("itens",)))
    with transaction.atomic():
        if documentos:
            escopo(modelo, organizacao).bulk_update(documentos, list(nomes))
        if itens:
            escopo(NFeItem, organizacao).bulk_update(itens, list(CAMPOS_ITEM))
    return relidos


def _ler(modelo, documento):
    estrutura = localizar(ler_xml(documento.arquivo.bytes_originais()))
    return ler_nfe(estrutura) if modelo is NFe else ler_cte(estrutura)


def _itens_guardados(organizacao, lote) -> dict[int, dict[int, NFeItem]]:
    por_nfe: dict[int, dict[int, NFeItem]] = {}
    for item in escopo(NFeItem, organizacao).filter(nfe_id__in=[d.pk for d in lote]):
        por_nfe.setdefault(item.nfe_id, {})[item.numero] = item
    return por_nfe


def _reler_itens(guardados: dict[int, NFeItem], dados) -> list[NFeItem]:
    mudados = []
    for lido in dados.itens:
        item = guardados.get(lido.numero)
        if item is None:
            continue
        diferentes = [nome for nome in CAMPOS_ITEM if getattr(item, nome) != getattr(lido, nome)]
        for nome in diferentes:
            setattr(item, nome, getattr(lido, nome))
        if diferentes:
            mudados.append(item)
    return mudados
