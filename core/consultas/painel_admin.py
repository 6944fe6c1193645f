"""The admin index dashboard: documents issued per day over the last 30 days, and webhook health.

Five queries whatever the amount of data: one GROUP BY per document type over the
(organizacao, -data_emissao) index, and the three of `estatisticas_dos_webhooks`. Always one
organization: the admin user's, or the one a superuser picks (`organizacoes_para_escolher`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from core.models import CTe, NFe, Organizacao
from core.tenancy import escopo
from core.webhooks.estatisticas import estatisticas_dos_webhooks

from .estatisticas import DIA, limites_locais, periodos

DIAS = 30


def painel_admin(*, organizacao: Organizacao, agora: datetime | None = None) -> dict:
    """{"organizacao", "inicio", "fim", "dias": [{"dia", "nfe", "cte"}], "totais", "webhooks", "entregas"}."""
    agora = agora or timezone.now()
    fim = timezone.localtime(agora, timezone.get_default_timezone()).date()
    inicio = fim - timedelta(days=DIAS - 1)
    desde, ate = limites_locais(inicio, fim)
    nfe = _por_dia(escopo(NFe, organizacao).filter(data_emissao__gte=desde, data_emissao__lt=ate))
    cte = _por_dia(escopo(CTe, organizacao).filter(data_emissao__gte=desde, data_emissao__lt=ate))
    dias = [{"dia": dia, "nfe": nfe.get(dia, 0), "cte": cte.get(dia, 0)} for dia in periodos(inicio, fim, DIA)]
    webhooks = estatisticas_dos_webhooks(organizacao, agora - timedelta(days=DIAS))
    entregas, sucessos = sum(w["entregas"] for w in webhooks), sum(w["sucessos"] for w in webhooks)
    return {
        "organizacao": organizacao,
        "inicio": inicio,
        "fim": fim,
        "dias": dias,
        "totais": {"nfe": sum(d["nfe"] for d in dias), "cte": sum(d["cte"] for d in dias)},
        "webhooks": webhooks,
        "entregas": {
            "total": entregas,
            "sucessos": sucessos,
            "falhas": entregas - sucessos,
            "taxa_de_sucesso": round(100 * sucessos / entregas, 2) if entregas else None,
            "com_falhas_seguidas": sum(1 for w in webhooks if w["falhas_consecutivas"]),
        },
    }


def _por_dia(documentos: QuerySet) -> dict[date, int]:
    # Grouped on the stored local date: a plain column, no time-zone function per row.
    return dict(documentos.order_by().values_list("data_emissao_local").annotate(n=Count("id")))


def organizacao_do_painel(usuario, escolhida: str | None, propria: Organizacao | None) -> Organizacao | None:
    """Whose dashboard to show: staff always their own; a superuser the one chosen (`?organizacao=<id>`),
    else their own, else the first by name."""
    if not usuario.is_superuser:
        return propria
    if escolhida and escolhida.isdigit():
        encontrada = Organizacao.objects.filter(pk=int(escolhida)).first()
        if encontrada is not None:
            return encontrada
    return propria or Organizacao.objects.order_by("nome", "id").first()


def organizacoes_para_escolher(usuario) -> list[tuple[int, str]]:
    """The superuser's choice list (id, name); empty for everyone else."""
    if not usuario.is_superuser:
        return []
    return list(Organizacao.objects.order_by("nome", "id").values_list("pk", "nome"))
