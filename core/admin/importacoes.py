"""Admin of the import log (`ImportLog`): read-only, with a download of what each attempt received and
the "reprocessar" action.

The action runs the same domain function as the API and the command (core.documentos.reprocessamento).
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from pathlib import PurePosixPath

from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..documentos.entrada import parece_zip
from ..documentos.reprocessamento import (
    ReprocessamentoImpossivel,
    bytes_guardados,
    reprocessar_varios,
)
from ..models import ImportLog
from .base import BuscaSemMascaraMixin, CamposLegiveisMixin, DaOrganizacaoAdmin, SomenteLeituraMixin

LIMITE_DA_ACAO = 500  # files per click: each one is a full import, run inside the request


class ArquivoRecebidoMixin:
    """For ImportLogAdmin: a "baixar" link per attempt and the "reprocessar" action."""

    actions = ["reprocessar"]

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        baixar = self.admin_site.admin_view(self.baixar_recebido)
        return [path("<int:pk>/xml/", baixar, name="%s_%s_xml" % info), *super().get_urls()]

    def baixar_recebido(self, request, pk):
        log = self.get_queryset(request).filter(pk=pk).first()
        if log is None:
            raise Http404("importação não encontrada")
        try:
            conteudo = bytes_guardados(log)
        except ReprocessamentoImpossivel as erro:
            raise Http404(str(erro)) from erro
        resposta = HttpResponse(conteudo, content_type="application/zip" if parece_zip(conteudo) else "application/xml")
        nome = PurePosixPath(log.arquivo.replace("\\", "/")).name or f"importacao-{log.pk}.xml"
        nome = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in nome)
        resposta["Content-Disposition"] = f'attachment; filename="{nome}"'
        return resposta

    @admin.display(description="arquivo recebido")
    def link_recebido(self, obj):
        if obj.xml_id is None:
            return f"não guardado ({obj.tamanho} bytes)" if obj.tamanho is not None else "não guardado"
        info = obj._meta.app_label, obj._meta.model_name
        return format_html('<a href="{}">baixar</a>', reverse("admin:%s_%s_xml" % info, args=[obj.pk]))

    @admin.action(description="Reprocessar os arquivos selecionados")
    def reprocessar(self, request, queryset):
        logs = list(queryset.select_related("organizacao", "reprocessado_de").order_by("organizacao_id", "pk")[: LIMITE_DA_ACAO + 1])
        if len(logs) > LIMITE_DA_ACAO:
            self.message_user(request, f"Selecione no máximo {LIMITE_DA_ACAO} importações por vez; para mais, use "
                                       "manage.py reprocessar_importacoes.", messages.ERROR)  # fmt: skip
            return
        contagem, falhas = Counter(), []
        for _, da_organizacao in groupby(logs, key=lambda log: log.organizacao_id):
            da_organizacao = list(da_organizacao)
            for feito in reprocessar_varios(da_organizacao[0].organizacao, da_organizacao, usuario=request.user):
                if feito.erro:
                    contagem["sem arquivo"] += 1
                    falhas.append(feito.erro)
                for resultado in feito.resultados:
                    contagem[resultado.status] += 1
                    if not resultado.ok:
                        falhas.append(f"{resultado.arquivo}: {resultado.mensagem}")
        resumo = ", ".join(f"{n} {status}" for status, n in sorted(contagem.items()))
        self.message_user(request, f"Reprocessadas {len(logs)} importação(ões): {resumo}.",
                          messages.WARNING if falhas else messages.SUCCESS)  # fmt: skip
        for falha in falhas[:20]:
            self.message_user(request, falha, messages.ERROR)


@admin.register(ImportLog)
class ImportLogAdmin(BuscaSemMascaraMixin, CamposLegiveisMixin, ArquivoRecebidoMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = ["criado_em", "arquivo", "chave_legivel", "tipo_xml", "status", "mensagem", "origem", "link_recebido"]
    list_filter = ["status", "origem", "tipo_xml", "criado_em"]
    search_fields = ["=chave", "arquivo", "mensagem"]
    date_hierarchy = "criado_em"
    readonly_fields = ["link_recebido"]
    exclude = ["organizacao", "xml"]
