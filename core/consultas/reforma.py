"""Which documents are operations and which carry the tax reform's groups: one definition for the filters,
/totais/, /api/estatisticas/ and the dashboard."""

from django.db.models import Q

from core.models import CTe, Finalidade, NFe

# finNFe of a purchase or sale, its complement or its tax adjustment. A return (4) and the reform's credit (5)
# and debit (6) notes correct an earlier operation (NT 2025.002-RTC): summed with purchases they would count the
# same money twice or with the wrong sign. NULL is a summary (resNFe has no finNFe): counted as the operation
# it almost always is until its full XML says otherwise.
FINALIDADES_DE_OPERACAO = (Finalidade.NORMAL, Finalidade.COMPLEMENTAR, Finalidade.AJUSTE)


def so_operacoes() -> Q:
    return Q(finalidade__in=FINALIDADES_DE_OPERACAO) | Q(finalidade__isnull=True)


def com_reforma(modelo) -> Q:
    """Documents that carry any reform group. NF-e: IBSCBSTot (its vBCIBSCBS is mandatory), ISTot or vNFTot.
    CT-e: imp/IBSCBS (its CST is mandatory; gIBSCBS is not) or imp/vTotDFe."""
    if modelo is NFe:
        return Q(valor_bc_ibs_cbs__isnull=False) | Q(valor_is__isnull=False) | Q(valor_nf_tot__isnull=False)
    if modelo is CTe:
        return ~Q(cst_ibs_cbs="") | Q(valor_total_dfe__isnull=False)
    raise ValueError(f"sem grupos da reforma: {modelo.__name__}")
