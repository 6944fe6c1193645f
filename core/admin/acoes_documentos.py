"""The NF-e and CT-e pages of the admin, for the fiscal team: the DANFE/DACTE preview, the original XML,
the events timeline, the recipient's manifestation (NF-e), and the bulk actions of the lists (ZIP of the
XMLs, CSV, manifest).

Thin, like the API views: the PDFs come from `core.documentos.pdf`, the files from
`core.consultas.exportacao`, the manifestation from `core.sefaz.manifestacao.manifestar` (the function the
API's `POST /api/nfes/{chave}/manifestar/` calls), its state from `core.documentos.manifestacao_estado`.
Reading (PDF, XML, timeline) is open to every staff member of the document's organization; manifesting
follows `PapelNoAdminMixin.pode_alterar` (members and administradores; nobody of an inactive organization).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.db.models import Q
from django.urls import path, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from .. import formatacao as fmt
from ..consultas.exportacao import EXCEL, csv_dos_documentos, zip_dos_xmls
from ..documentos.manifestacao_estado import (
    condicao_pendente,
    destinada_a,
    historico_da_manifestacao,
    resumo_da_manifestacao,
)
from ..documentos.pdf import ErroPDF, dacte_do_documento, danfe_do_documento
from ..erros import EntradaInvalida
from ..models import EventoDocumento, Organizacao
from ..sefaz.manifestacao import MAX_POR_LOTE, manifestar
from ..tenancy import escopo
from .base import organizacao_do_admin

# The button labels, as the fiscal team (and the browser tests) know them.
ROTULOS_MANIFESTACAO = {
    "ciencia": "Ciência da operação",
    "confirmacao": "Confirmação da operação",
    "desconhecimento": "Desconhecimento da operação",
    "nao_realizada": "Operação não realizada",
}
# A ZIP is built while it is sent, but a selection of "all N" across pages could still be the whole
# history: above this the list's filters (or the API's export) are the way.
MAX_XMLS_NO_ZIP = 1000


def linha_do_evento(evento: EventoDocumento) -> dict:
    cancelador = evento.cancelado_por
    return {
        "evento": evento,
        "data": fmt.formatar_data_hora(evento.data_evento),
        "autor": fmt.formatar_documento(evento.autor_documento) or fmt.VAZIO,
        "cancelado_por": cancelador and {
            "nome": cancelador.nome, "protocolo": cancelador.protocolo,
            "data": fmt.formatar_data_hora(cancelador.data_evento),
        },
    }  # fmt: skip


class PaginaDoDocumentoMixin:
    """For the NF-e and CT-e admins: PDF and XML buttons, the events timeline, the bulk ZIP and CSV.

    The class says which PDF (`pdf`: "danfe" or "dacte"), the XML's foreign key on `EventoDocumento`
    (`fk_dos_eventos`) and the API viewset whose export columns the CSV copies (`viewset_da_api`)."""

    pdf = "danfe"
    fk_dos_eventos = "nfe"
    viewset_da_api = "api.views.documentos.NFeViewSet"
    actions = ["baixar_xmls_zip", "exportar_csv"]

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        rotas = [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.ver_pdf), name="%s_%s_pdf" % info),
            path("<int:pk>/baixar-xml/", self.admin_site.admin_view(self.baixar_xml_original),
                 name="%s_%s_baixar_xml" % info),
            path("chave/<str:chave>/", self.admin_site.admin_view(self.pela_chave), name="%s_%s_chave" % info),
            path("chave/<str:chave>/xml/", self.admin_site.admin_view(self.xml_pela_chave), name="%s_%s_chave_xml" % info),
        ]  # fmt: skip
        return rotas + super().get_urls()

    def pela_chave(self, request, chave):
        """The document's page by its chave: the e-mails link here (they carry the chave, not the row id),
        and a click from the mailbox goes through the admin login first."""
        return HttpResponseRedirect(self.url_da_pagina(self._da_chave(request, chave)))

    def xml_pela_chave(self, request, chave):
        documento = self._da_chave(request, chave)
        info = documento._meta.app_label, documento._meta.model_name
        return HttpResponseRedirect(reverse("admin:%s_%s_baixar_xml" % info, args=[documento.pk]))

    def _da_chave(self, request, chave):
        # The tenant scope again; a superuser with the same chave in two organizations gets the first.
        documento = self.get_queryset(request).filter(chave=chave).order_by("id").first()
        if documento is None or not self.has_view_permission(request, documento):
            raise Http404("documento não encontrado")
        return documento

    def documento_ou_404(self, request, pk):
        # get_queryset() is the tenant scope: another organization's document is simply not found.
        documento = self.get_queryset(request).select_related("arquivo", "organizacao").filter(pk=pk).first()
        if documento is None or not self.has_view_permission(request, documento):
            raise Http404("documento não encontrado")
        return documento

    def ver_pdf(self, request, pk):
        documento = self.documento_ou_404(request, pk)
        gerar = danfe_do_documento if self.pdf == "danfe" else dacte_do_documento
        try:
            pdf = gerar(documento)
        except ErroPDF as erro:  # a summary only, or a drawing the library refuses: say why on the page
            messages.error(request, str(erro))
            return HttpResponseRedirect(self.url_da_pagina(documento))
        resposta = HttpResponse(pdf, content_type="application/pdf")
        resposta["Content-Disposition"] = f'inline; filename="{documento.chave}-{self.pdf}.pdf"'
        return resposta

    def baixar_xml_original(self, request, pk):
        documento = self.documento_ou_404(request, pk)
        resposta = HttpResponse(documento.arquivo.bytes_originais(), content_type="application/xml")
        resposta["Content-Disposition"] = f'attachment; filename="{documento.chave}.xml"'
        return resposta

    def url_da_pagina(self, documento) -> str:
        info = documento._meta.app_label, documento._meta.model_name
        return reverse("admin:%s_%s_change" % info, args=[documento.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        documento = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if documento is not None:
            extra_context = {**(extra_context or {}), **self.contexto_do_documento(request, documento)}
        return super().change_view(request, object_id, form_url, extra_context)

    def contexto_do_documento(self, request, documento) -> dict:
        info = documento._meta.app_label, documento._meta.model_name
        return {
            "url_pdf": reverse("admin:%s_%s_pdf" % info, args=[documento.pk]),
            "rotulo_pdf": "Ver DANFE" if self.pdf == "danfe" else "Ver DACTE",
            "url_baixar_xml": reverse("admin:%s_%s_baixar_xml" % info, args=[documento.pk]),
            "linha_do_tempo": self.linha_do_tempo(documento),
        }

    def linha_do_tempo(self, documento) -> list[dict]:
        """The document's events, oldest first, as they read for people, with whatever cancelled each one."""
        eventos = escopo(EventoDocumento, documento.organizacao).filter(**{self.fk_dos_eventos: documento})
        return [linha_do_evento(e) for e in eventos.select_related("cancelado_por").order_by("data_evento", "sequencia", "pk")]

    # ------------------------------------------------------------------------------ bulk actions

    @admin.action(description="Baixar XMLs (ZIP)")
    def baixar_xmls_zip(self, request, queryset):
        total = queryset.count()
        if total > MAX_XMLS_NO_ZIP:
            messages.error(request, (
                f"{total} documentos selecionados: o ZIP leva no máximo {MAX_XMLS_NO_ZIP}. Filtre a lista "
                "(por data, por exemplo) ou use a exportação da API (GET .../exportar/?formato=zip)."
            ))  # fmt: skip
            return None
        # select_related(None): the list's own joins (organizacao) clash with the export's only().
        xmls = zip_dos_xmls(queryset.select_related(None), self.viewset().sufixo_xml)
        resposta = StreamingHttpResponse(xmls, content_type="application/zip")
        resposta["Content-Disposition"] = f'attachment; filename="{self.nome_do_arquivo("zip")}"'
        return resposta

    @admin.action(description="Exportar CSV")
    def exportar_csv(self, request, queryset):
        # The API export's columns and dialect (Excel in Portuguese), so both spreadsheets read the same.
        viewset = self.viewset()
        colunas = [coluna for coluna in viewset.serializer_class.Meta.fields if coluna != "links"]
        calculadas = {coluna: expr for coluna, expr in viewset.colunas_calculadas.items() if coluna in colunas}
        corpo = csv_dos_documentos(queryset.select_related(None).annotate(**calculadas).order_by("-data_emissao", "-pk"), colunas, EXCEL)
        resposta = StreamingHttpResponse(corpo, content_type="text/csv; charset=utf-8")
        resposta["Content-Disposition"] = f'attachment; filename="{self.nome_do_arquivo("csv")}"'
        return resposta

    def viewset(self):
        return import_string(self.viewset_da_api)

    def nome_do_arquivo(self, extensao: str) -> str:
        return f"{self.model._meta.model_name}s-{timezone.localtime():%Y%m%d-%H%M%S}.{extensao}"


class ManifestacaoNoAdminMixin:
    """For the NF-e admin: the recipient's manifestation state on the page, its four buttons, and the
    "Manifestar" bulk action with its intermediate page. Both call `manifestar()`, as the API does."""

    actions = ["baixar_xmls_zip", "exportar_csv", "manifestar_selecionadas"]

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        rota = path("<int:pk>/manifestar/", self.admin_site.admin_view(require_POST(self.manifestar_documento)),
                    name="%s_%s_manifestar" % info)  # fmt: skip
        return [rota, *super().get_urls()]

    def contexto_do_documento(self, request, nfe) -> dict:
        contexto = super().contexto_do_documento(request, nfe)
        if not destinada_a(nfe.organizacao, nfe):
            return contexto
        return {
            **contexto,
            "manifestacao": self.estado_da_manifestacao(nfe),
            "historico_manifestacao": [
                {**item, "nome": ROTULOS_MANIFESTACAO[item["tipo"]], "data": fmt.formatar_data_hora(item["data"])}
                for item in historico_da_manifestacao([linha["evento"] for linha in contexto["linha_do_tempo"]])
            ],
            "pode_manifestar": self.pode_alterar(request),
            "url_manifestar": reverse("admin:core_nfe_manifestar", args=[nfe.pk]),
            "botoes_manifestacao": [(t, r) for t, r in ROTULOS_MANIFESTACAO.items() if t != "nao_realizada"],
            "rotulo_nao_realizada": ROTULOS_MANIFESTACAO["nao_realizada"],
        }

    def estado_da_manifestacao(self, nfe) -> dict:
        estado = resumo_da_manifestacao(nfe)
        return {**estado, "data": fmt.formatar_data_hora(estado["data"]), "prazo": fmt.formatar_data_hora(estado["prazo"])}

    def manifestar_documento(self, request, pk):
        nfe = self.documento_ou_404(request, pk)
        if not self.pode_alterar(request):
            raise PermissionDenied
        self.manifestar_e_avisar(request, nfe.organizacao, [nfe.chave], request.POST.get("tipo", ""),
                                 request.POST.get("justificativa", ""))  # fmt: skip
        return HttpResponseRedirect(self.url_da_pagina(nfe))

    def manifestar_e_avisar(self, request, organizacao, chaves, tipo, justificativa) -> None:
        """Call the domain function (SEFAZ is called outside any transaction) and tell the result."""
        try:
            resultados = manifestar(organizacao, chaves, tipo, justificativa, origem="admin")
        except EntradaInvalida as erro:
            messages.error(request, f"Manifestação não enviada: {erro}")
            return
        for resultado in resultados:
            nome = ROTULOS_MANIFESTACAO[resultado.tipo]
            if resultado.registrada and not resultado.erro:
                messages.success(request, (
                    f"{nome} registrada na SEFAZ para a NF-e {resultado.chave} (protocolo {resultado.protocolo})."
                ))  # fmt: skip
            elif resultado.registrada:
                messages.warning(request, f"{nome} da NF-e {resultado.chave}: {resultado.erro}")
            elif resultado.cstat is None:
                messages.error(request, f"{nome} da NF-e {resultado.chave}: sem resposta da SEFAZ ({resultado.erro}).")
            else:
                messages.error(request, (
                    f"{nome} da NF-e {resultado.chave} recusada pela SEFAZ: cStat {resultado.cstat}, "
                    f"{resultado.xmotivo}"
                ))  # fmt: skip

    @admin.action(description="Manifestar")
    def manifestar_selecionadas(self, request, queryset):
        total = queryset.count()
        if total > MAX_POR_LOTE:
            messages.error(request, f"{total} NF-e selecionadas: manifeste no máximo {MAX_POR_LOTE} de cada vez.")
            return None
        if request.POST.get("confirmar") == "sim":
            por_organizacao: dict = {}
            for nfe in queryset.select_related("organizacao").order_by("pk"):
                por_organizacao.setdefault(nfe.organizacao_id, (nfe.organizacao, []))[1].append(nfe.chave)
            for organizacao, chaves in por_organizacao.values():
                self.manifestar_e_avisar(request, organizacao, chaves, request.POST.get("tipo", ""),
                                         request.POST.get("justificativa", ""))  # fmt: skip
            return None
        contexto = {
            **self.admin_site.each_context(request),
            "title": "Manifestar as NF-e selecionadas",
            "opts": self.model._meta,
            "nfes": queryset.order_by("pk"),
            "tipos": ROTULOS_MANIFESTACAO,
            "acao": "manifestar_selecionadas",
            "selecionadas": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "todas": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/core/nfe/manifestar_selecionadas.html", contexto)


class PaginaDoCTeMixin(PaginaDoDocumentoMixin):
    """The same page for a CT-e or a CT-e OS (`dacte_do_documento` draws both)."""

    pdf = "dacte"
    fk_dos_eventos = "cte"
    viewset_da_api = "api.views.documentos.CTeViewSet"


class PendenteDeManifestacao(admin.SimpleListFilter):
    """The NF-e still awaiting the organization's conclusive manifestation, deadline ahead: the rule of
    `pendentes_de_manifestacao`, which the index dashboard counts and links here with."""

    title = "manifestação pendente"
    parameter_name = "manifestacao_pendente"

    def lookups(self, request, model_admin):
        return [("sim", "Aguardando manifestação conclusiva")]

    def queryset(self, request, queryset):
        if self.value() != "sim":
            return queryset
        if not request.user.is_superuser:
            return queryset.filter(condicao_pendente(organizacao_do_admin(request)))
        # A superuser's list spans organizations: each one's rule (its own certificates) for its own rows.
        condicao = Q(pk__in=[])
        for organizacao in Organizacao.objects.filter(pk__in=queryset.order_by().values("organizacao_id")):
            condicao |= Q(organizacao=organizacao) & condicao_pendente(organizacao)
        return queryset.filter(condicao)


class PaginaDaNFeMixin(ManifestacaoNoAdminMixin, PaginaDoDocumentoMixin):
    """The NF-e page: PDF, XML and timeline, plus the recipient's manifestation."""

    def get_list_filter(self, request):
        return [PendenteDeManifestacao, *super().get_list_filter(request)]
