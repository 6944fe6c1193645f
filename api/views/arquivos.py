"""Files made from the documents: exports of a filtered list (CSV, ZIP of XMLs) and DANFE/DACTE PDFs.

Mixins for the document viewsets, which provide `get_queryset()`, `filter_queryset()`,
`serializer_class` (its fields are the CSV columns) and `sufixo_xml` ("procNFe"/"procCTe").
"""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action

from api.erros import Conflito
from core.consultas.exportacao import DIALETOS, csv_dos_documentos, zip_dos_xmls
from core.documentos.pdf import (
    ErroPDF,
    SemXMLCompleto,
    dacte_do_documento,
    danfe_do_documento,
)

FORMATOS = {"csv": "text/csv; charset=utf-8", "zip": "application/zip"}


class FormatoSerializer(serializers.Serializer):
    formato = serializers.ChoiceField(choices=list(FORMATOS), default="csv")
    dialeto = serializers.ChoiceField(choices=list(DIALETOS), default="excel")


class PDFIndisponivel(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Não foi possível gerar o PDF deste documento."
    default_code = "pdf_indisponivel"


class ExportarMixin:
    """`GET exportar/?formato=csv|zip&dialeto=excel|rfc4180`: the whole filtered list, streamed.

    The CSV has the list's columns (minus `links`); a list field that is not a column (`finalidade_nome`)
    comes from the expression the viewset names in `colunas_calculadas`.
    """

    colunas_calculadas: dict = {}

    @extend_schema(
        summary="Exporta os documentos filtrados (CSV ou ZIP dos XMLs originais)",
        description=(
            "Aceita os mesmos filtros e a mesma ordenação da listagem, sem paginação. `csv`: colunas da "
            "listagem; com `dialeto=excel` (padrão), separadas por ponto e vírgula, decimais com vírgula, "
            "UTF-8 com BOM (abre direto no Excel em português); com `dialeto=rfc4180`, separadas por "
            "vírgula, decimais com ponto, UTF-8 sem BOM (para programas). "
            "`zip`: o XML original de cada documento, byte a byte, como `{chave}-procNFe.xml` ou "
            "`{chave}-procCTe.xml`. A resposta é enviada aos poucos (streaming)."
        ),
        parameters=[
            OpenApiParameter("formato", str, enum=list(FORMATOS), default="csv"),
            OpenApiParameter("dialeto", str, enum=list(DIALETOS), default="excel", description="Só para `csv`"),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="Formato ou filtro inválido"),
        },
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def exportar(self, request):
        pedido = FormatoSerializer(data=request.query_params)
        pedido.is_valid(raise_exception=True)
        formato = pedido.validated_data["formato"]
        documentos = self.filter_queryset(self.get_queryset())  # validates the filters now: 400, not a broken file
        if formato == "csv":
            colunas = [c for c in self.serializer_class.Meta.fields if c != "links"]
            calculadas = {c: e for c, e in self.colunas_calculadas.items() if c in colunas}
            dialeto = DIALETOS[pedido.validated_data["dialeto"]]
            corpo = csv_dos_documentos(documentos.annotate(**calculadas), colunas, dialeto)
        else:
            corpo = zip_dos_xmls(documentos, self.sufixo_xml)
        resposta = StreamingHttpResponse(corpo, content_type=FORMATOS[formato])
        nome = f"{self.basename}s-{timezone.localtime():%Y%m%d-%H%M%S}.{formato}"
        resposta["Content-Disposition"] = f'attachment; filename="{nome}"'
        return resposta


class PDFMixin:
    """What the DANFE and DACTE actions share: load the document, render (cached), answer a PDF."""

    acoes_pdf = ("danfe", "dacte")

    def get_queryset(self):
        documentos = super().get_queryset()
        if self.action in self.acoes_pdf:
            # The blob is only read on a cache miss (one more query then); the SHA-256 keys the cache.
            return documentos.select_related("arquivo").defer("arquivo__conteudo")
        return documentos

    def responder_pdf(self, gerar, nome: str) -> HttpResponse:
        documento = self.get_object()
        try:
            pdf = gerar(documento)
        except SemXMLCompleto as erro:
            raise Conflito(str(erro)) from erro
        except ErroPDF as erro:
            raise PDFIndisponivel(str(erro)) from erro
        resposta = HttpResponse(pdf, content_type="application/pdf")
        resposta["Content-Disposition"] = f'inline; filename="{documento.chave}-{nome}.pdf"'
        return resposta


RESPOSTAS_PDF = {
    (200, "application/pdf"): OpenApiTypes.BINARY,
    404: OpenApiResponse(description="Documento não encontrado na organização"),
    422: OpenApiResponse(description="O gerador de PDF não conseguiu desenhar este documento"),
}


class DanfeMixin(PDFMixin):
    @extend_schema(
        summary="DANFE em PDF (DANFC-e para NFC-e)",
        responses={**RESPOSTAS_PDF, 409: OpenApiResponse(description="A NF-e só tem o resumo (resNFe)")},
    )
    @action(detail=True, methods=["get"])
    def danfe(self, request, chave=None):
        """O DANFE gerado a partir do XML original; NF-e canceladas saem com a marca d'água."""
        return self.responder_pdf(danfe_do_documento, "danfe")


class DacteMixin(PDFMixin):
    @extend_schema(summary="DACTE em PDF", responses=RESPOSTAS_PDF)
    @action(detail=True, methods=["get"])
    def dacte(self, request, chave=None):
        """O DACTE gerado a partir do XML original; CT-e cancelados saem com a marca d'água."""
        return self.responder_pdf(dacte_do_documento, "dacte")
