"""SEFAZ: query history and manifestations. Thin: the rules live in core.sefaz."""

import django_filters as filtros
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import DaOrganizacaoMixin
from api.filtros import ConsultaSEFAZFilterSet
from api.paginacao import PaginacaoDocumentos
from api.serializers import sefaz as s
from core.documentos.manifestacao_estado import TIPOS_DE_MANIFESTACAO
from core.models import CertificadoDigital, ConsultaSEFAZ
from core.models.sefaz import Manifestacao
from core.sefaz.manifestacao import manifestar
from core.tenancy import escopo


class PaginacaoConsultas(PaginacaoDocumentos):
    ordering = ("-criada_em", "-id")


class ConsultasView(DaOrganizacaoMixin, generics.ListAPIView):
    """Cada chamada feita à SEFAZ (distNSU, consNSU, manifestação), da mais recente."""

    model = ConsultaSEFAZ
    serializer_class = s.ConsultaSEFAZSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ConsultaSEFAZFilterSet
    pagination_class = PaginacaoConsultas


class ManifestacaoFilterSet(filtros.FilterSet):
    situacao = filtros.ChoiceFilter(choices=Manifestacao.Situacao.choices, help_text="pendente: ainda não registrada")
    tipo = filtros.ChoiceFilter(choices=[(t, t) for t in TIPOS_DE_MANIFESTACAO.values()])  # a typo is a 400, not []
    chave = filtros.CharFilter()

    class Meta:
        model = Manifestacao
        fields = []


class PaginacaoManifestacoes(PaginacaoDocumentos):
    ordering = ("-id",)


class ManifestacoesView(DaOrganizacaoMixin, generics.ListAPIView):
    """Manifestações do destinatário pedidas (automáticas ou não) e cada tentativa de registrá-las.

    `?situacao=pendente`: as que a SEFAZ ainda não registrou; a ciência pendente é reenviada a cada
    consulta agendada do CNPJ até ser registrada.
    """

    model = Manifestacao
    serializer_class = s.ManifestacaoSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ManifestacaoFilterSet
    pagination_class = PaginacaoManifestacoes

    def get_queryset(self):
        return super().get_queryset().prefetch_related("historico")


def responder_manifestacao(request, chaves, dados) -> Response:
    certificado = None
    if dados.get("certificado"):
        certificado = escopo(CertificadoDigital, request.organizacao).filter(pk=dados["certificado"]).first()
        if certificado is None:
            raise ValidationError({"certificado": ["Certificado não encontrado nesta organização."]})
    resultados = manifestar(
        request.organizacao, chaves, dados["tipo"], dados.get("justificativa", ""), certificado=certificado
    )
    return Response(s.ResultadosManifestacaoSerializer({"resultados": resultados}).data)


class ManifestarLoteView(APIView):
    """Manifesta várias NF-e de uma vez (até 20), com o certificado do destinatário de cada uma."""

    @extend_schema(
        operation_id="nfes_manifestar_lote", request=s.ManifestarLoteSerializer,
        responses=s.ResultadosManifestacaoSerializer,
    )  # fmt: skip
    def post(self, request):
        pedido = s.ManifestarLoteSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        return responder_manifestacao(request, pedido.validated_data["chaves"], pedido.validated_data)
