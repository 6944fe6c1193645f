"""NF-e and CT-e: list, detail, original XML and totals. Thin: the work lives in core."""

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.base import DaOrganizacaoMixin
from api.filtros import CTeFilterSet, EventoPendenteFilterSet, NFeFilterSet, OrdenacaoEstrita, OutroDocumentoFilterSet
from api.paginacao import PaginacaoDocumentos, PaginacaoPorCursor
from api.serializers import documentos as s
from api.serializers.totais import TotaisCTeSerializer, TotaisNFeSerializer
from api.serializers.sefaz import ManifestarSerializer, ResultadosManifestacaoSerializer
from api.views.arquivos import DacteMixin, DanfeMixin, ExportarMixin
from api.views.sefaz import responder_manifestacao
from core.consultas.exportacao import nome_da_escolha
from core.consultas.totais import totais_filtrados
from core.models import CTe, EventoDocumento, Finalidade, NFe, OutroDocumento


class DocumentoViewSet(DaOrganizacaoMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "chave"
    lookup_value_regex = "[0-9A-Z]{44}"
    pagination_class = PaginacaoDocumentos
    filter_backends = [DjangoFilterBackend, OrdenacaoEstrita]
    ordering = ["-data_emissao", "-id"]
    sufixo_xml = ""
    serializer_detalhe = None
    serializer_totais = None

    def get_queryset(self):
        documentos = super().get_queryset()
        if self.action == "retrieve":
            return self.com_relacionados(documentos)
        return documentos

    def com_relacionados(self, documentos):
        return documentos.prefetch_related("eventos")

    def get_serializer_class(self):
        return self.serializer_detalhe if self.action == "retrieve" else self.serializer_class

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def xml(self, request, chave=None):
        """O XML original, byte a byte como foi recebido."""
        documento = self.get_object()
        resposta = HttpResponse(documento.arquivo.bytes_originais(), content_type="application/xml")
        resposta["Content-Disposition"] = f'attachment; filename="{documento.chave}-{self.sufixo_xml}.xml"'
        return resposta

    @action(detail=False, methods=["get"], pagination_class=None)
    def totais(self, request):
        """Quantidade e somas dos documentos que atendem aos filtros, no total e por situação."""
        documentos = self.filter_queryset(self.get_queryset())  # validates every parameter: 400 naming it
        filtros = DjangoFilterBackend().get_filterset(request, documentos, self)
        filtros.is_valid()
        dados = totais_filtrados(documentos, organizacao=request.organizacao, filtros=filtros.form.cleaned_data)
        return Response(self.serializer_totais(dados).data)


@extend_schema_view(totais=extend_schema(responses=TotaisNFeSerializer, filters=True))
class NFeViewSet(ExportarMixin, DanfeMixin, DocumentoViewSet):
    """NF-e (modelo 55) e NFC-e (modelo 65) da organização."""

    model = NFe
    serializer_class = s.NFeSerializer
    serializer_detalhe = s.NFeDetalheSerializer
    filterset_class = NFeFilterSet
    serializer_totais = TotaisNFeSerializer
    ordering_fields = ["data_emissao", "valor_total", "numero", "prazo_manifestacao"]
    sufixo_xml = "procNFe"
    colunas_calculadas = {"finalidade_nome": nome_da_escolha("finalidade", Finalidade.choices)}

    def com_relacionados(self, documentos):
        return documentos.prefetch_related("itens", "eventos")

    @extend_schema(request=ManifestarSerializer, responses=ResultadosManifestacaoSerializer)
    @action(detail=True, methods=["post"])
    def manifestar(self, request, chave=None):
        """Manifestação do destinatário: ciencia, confirmacao, desconhecimento ou nao_realizada.

        O evento é assinado com o certificado do destinatário e enviado à SEFAZ; registrado (135/136),
        fica gravado nos eventos da NF-e. Uma ciência libera o XML completo na próxima consulta.
        """
        self.get_object()  # 404 for another organization's key
        pedido = ManifestarSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        return responder_manifestacao(request, [chave], pedido.validated_data)


@extend_schema_view(totais=extend_schema(responses=TotaisCTeSerializer, filters=True))
class CTeViewSet(ExportarMixin, DacteMixin, DocumentoViewSet):
    """CT-e (modelo 57) e CT-e OS (modelo 67) da organização."""

    model = CTe
    serializer_class = s.CTeSerializer
    serializer_detalhe = s.CTeDetalheSerializer
    filterset_class = CTeFilterSet
    serializer_totais = TotaisCTeSerializer
    ordering_fields = ["data_emissao", "valor_prestacao", "numero"]
    sufixo_xml = "procCTe"


class OutroDocumentoViewSet(DocumentoViewSet):
    """Outros documentos fiscais recebidos (GTV-e, CT-e Simplificado): os campos comuns e o XML original."""

    model = OutroDocumento
    serializer_class = s.OutroDocumentoSerializer
    serializer_detalhe = s.OutroDocumentoSerializer
    filterset_class = OutroDocumentoFilterSet
    ordering_fields = ["data_emissao", "valor_total", "numero"]
    sufixo_xml = "proc"

    def com_relacionados(self, documentos):
        return documentos

    totais = None  # no per-situation sums for kinds read only in part


class PaginacaoEventosPendentes(PaginacaoPorCursor):
    ordering = ("-data_evento", "-id")


class EventoPendenteViewSet(DaOrganizacaoMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Eventos (cancelamentos, cartas de correção, manifestações...) cujo documento ainda não chegou.

    Quando o documento chega, o evento se liga a ele, sai desta lista e vai ao feed e aos webhooks
    com o `documento_atualizado` do documento.
    """

    model = EventoDocumento
    serializer_class = s.EventoPendenteSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventoPendenteFilterSet
    pagination_class = PaginacaoEventosPendentes

    def get_queryset(self):
        pendentes = super().get_queryset().filter(nfe__isnull=True, cte__isnull=True, outro__isnull=True)
        return pendentes.order_by("-data_evento", "-id")
