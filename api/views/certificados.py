"""The organization's A1 certificates and capture defaults. Thin: the rules live in core.certificados."""

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from api.base import DaOrganizacaoMixin
from api.serializers import certificados as s
from core.certificados import (
    CertificadoDuplicado,
    CertificadoInvalido,
    OpcaoInvalida,
    cadastrar_certificado,
    configuracao_da_organizacao,
    excluir_certificado,
)
from core.certificados.a1 import TAMANHO_MAXIMO_PFX
from core.models import CertificadoDigital

ERRO = {"type": "object", "properties": {"erro": {"type": "string"}, "detalhes": {"type": "object"}}}


@extend_schema_view(
    list=extend_schema(description="Os certificados da organização, com metadados e opções de captura."),
    retrieve=extend_schema(description="Um certificado: metadados lidos do arquivo e opções de captura."),
    partial_update=extend_schema(
        description='Altera só as opções de captura (e limpa `problema` com ""). '
        "Um arquivo novo é um certificado novo."
    ),
    destroy=extend_schema(description="Exclui o certificado; a posição de NSU da SEFAZ e o histórico ficam."),
)
# Django's error reports (and DEBUG pages) must not show the password of a request that failed.
@method_decorator(sensitive_post_parameters("senha"), name="dispatch")
class CertificadoViewSet(DaOrganizacaoMixin, viewsets.ModelViewSet):
    """Certificados A1 usados na captura automática de NF-e e CT-e na SEFAZ."""

    model = CertificadoDigital
    serializer_class = s.CertificadoSerializer
    lookup_value_regex = r"\d+"  # so that certificados/configuracao/ is never taken for an id
    pagination_class = None
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request={"multipart/form-data": s.NovoCertificadoSerializer},
        responses={
            201: s.CertificadoSerializer,
            400: OpenApiResponse(ERRO, description="Arquivo, senha ou opção inválidos (o campo vem em `detalhes`)"),
            409: OpenApiResponse(ERRO, description="Certificado já cadastrado (`detalhes.certificado` é o id)"),
        },
    )
    def create(self, request, *args, **kwargs):
        """Cadastra um certificado A1 (multipart: `arquivo` e `senha`). A senha nunca é devolvida."""
        pedido = s.NovoCertificadoSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        dados = dict(pedido.validated_data)
        arquivo, senha = dados.pop("arquivo"), dados.pop("senha")
        try:
            certificado = cadastrar_certificado(self.organizacao, arquivo.read(TAMANHO_MAXIMO_PFX + 1), senha, **dados)
        except CertificadoDuplicado as erro:
            corpo = {"erro": str(erro), "detalhes": {"certificado": erro.existente_id}}
            return Response(corpo, status=status.HTTP_409_CONFLICT)
        except (CertificadoInvalido, OpcaoInvalida) as erro:
            raise ValidationError({erro.campo: [str(erro)]}) from None
        return Response(s.CertificadoSerializer(certificado).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, certificado):
        excluir_certificado(certificado)

    @extend_schema(methods=["GET"], responses=s.ConfiguracaoConsultaSerializer)
    @extend_schema(
        methods=["PATCH"], request=s.ConfiguracaoConsultaSerializer, responses=s.ConfiguracaoConsultaSerializer
    )
    @action(detail=False, methods=["get", "patch"], pagination_class=None, filter_backends=[])
    def configuracao(self, request):
        """Padrões da organização (intervalo, serviços, ciência automática, destinatários de avisos)."""
        configuracao = configuracao_da_organizacao(self.organizacao)
        if request.method == "GET":
            return Response(s.ConfiguracaoConsultaSerializer(configuracao).data)
        pedido = s.ConfiguracaoConsultaSerializer(configuracao, data=request.data, partial=True)
        pedido.is_valid(raise_exception=True)
        pedido.save()
        return Response(pedido.data)
