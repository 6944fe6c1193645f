"""The organization's time zone (`Organizacao.fuso_horario`) for what people read: the admin and the e-mails.

Dates and times are stored in UTC and formatted in Django's *current* time zone (core.formatacao, the
admin's own widgets); this module only decides which zone is current:
- an admin request of a signed-in staff member runs in their organization's zone (the middleware
  below); a superuser's, in the organization picked on the dashboard (`?organizacao=<id>`), else in
  settings.TIME_ZONE;
- an e-mail is rendered inside `timezone.override(zona_da_organizacao(...))` (core.notifications.envio).

What is stored or served to machines keeps settings.TIME_ZONE: `data_emissao_local`, the API's days and
the cron's "yesterday" do not depend on who is looking.
"""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

from core.models import Organizacao

PREFIXO_ADMIN = "/admin/"


def zona_da_organizacao(organizacao: Organizacao | None) -> zoneinfo.ZoneInfo:
    """The organization's zone; settings.TIME_ZONE without one (or with a name zoneinfo does not know,
    e.g. a system without tzdata for it: a wrong hour is better than a page that does not open)."""
    if organizacao is None or not organizacao.fuso_horario:
        return timezone.get_default_timezone()
    try:
        return zoneinfo.ZoneInfo(organizacao.fuso_horario)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def organizacao_do_fuso(request) -> Organizacao | None:
    """Whose zone an admin request reads in; cached on the request (at most one query, usually none:
    a staff member's organization is the admin's scoping lookup, which the page makes anyway)."""
    if not hasattr(request, "_organizacao_do_fuso"):
        request._organizacao_do_fuso = _organizacao_do_fuso(request)
    return request._organizacao_do_fuso


def _organizacao_do_fuso(request) -> Organizacao | None:
    # Imported here: the e-mail worker imports this module and has no use for the whole admin.
    from core.admin.base import organizacao_do_admin

    usuario = request.user
    if not (usuario.is_authenticated and usuario.is_active and usuario.is_staff):
        return None
    if not usuario.is_superuser:
        return organizacao_do_admin(request)
    escolhida = request.GET.get("organizacao", "")
    return Organizacao.objects.filter(pk=int(escolhida)).first() if escolhida.isdigit() else None


class FusoHorarioDoAdminMiddleware:
    """/admin/ requests run in the organization's zone, and only for their own duration: `override`
    puts back the previous zone after the response (rendered inside, TemplateResponses included), so a
    worker thread's next request never inherits it. Goes after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(PREFIXO_ADMIN):
            return self.get_response(request)
        with timezone.override(zona_da_organizacao(organizacao_do_fuso(request))):
            return self.get_response(request)
