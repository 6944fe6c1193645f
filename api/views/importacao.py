"""Uploading XMLs/ZIPs and reading the import log. Thin: the pipeline lives in core.documentos."""

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import DaOrganizacaoMixin
from api.filtros import ImportLogFilterSet
from api.paginacao import PaginacaoPorData
from api.serializers.importacao import (
    ImportacaoSerializer,
    ImportarSerializer,
    ImportLogSerializer,
)
from core.documentos.importacao import importar
from core.models import ImportLog, Origem


class ImportarView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="importar",
        request={"multipart/form-data": ImportarSerializer},
        responses=ImportacaoSerializer,
        summary="Importa XMLs de NF-e/CT-e (ou ZIPs de XMLs)",
    )
    def post(self, request):
        """Cada arquivo (XML ou ZIP) passa pela mesma importação do comando importar_xml.

        Responde 200 com um resultado por documento (sucesso, duplicado ou erro), mesmo quando
        algum arquivo falha; 400 apenas quando nenhum arquivo foi enviado.
        """
        envio = ImportarSerializer(data=_dados_do_envio(request))
        envio.is_valid(raise_exception=True)
        resultados = list(
            importar(
                organizacao=request.organizacao, entradas=envio.entradas(), origem=Origem.UPLOAD, usuario=request.user
            )
        )
        return Response(ImportacaoSerializer.de_resultados(resultados, context={"request": request}).data)


def _dados_do_envio(request):
    try:
        return request.data
    except TooManyFilesSent:
        # Django stops parsing at the limit (a SuspiciousOperation, a bare HTML 400); answer like any bad field.
        limite = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        mensagem = f"No máximo {limite} arquivos por envio; envie o restante em outro envio ou junte-os num ZIP."
        raise ValidationError({"arquivos": [mensagem]}) from None


class ImportacoesView(DaOrganizacaoMixin, generics.ListAPIView):
    """Registro de cada arquivo (ou entrada de ZIP) que a organização tentou importar, do mais recente."""

    model = ImportLog
    serializer_class = ImportLogSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ImportLogFilterSet
    pagination_class = PaginacaoPorData

    def get_queryset(self):
        return super().get_queryset().select_related("usuario")
