"""The organization's A1 certificates and capture defaults. Thin: the rules live in core.certificados."""

from django.conf import settings
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from api.base import DaOrganizacaoMixin
from api.erros import Conflito
from api.permissoes import AdministradorParaAlterar
from api.serializers import certificados as s
from api.serializers.sefaz import ConsultarSerializer, ExecucaoSerializer
from core.certificados import (
    CertificadoDuplicado,
    cadastrar_certificado,
    configuracao_da_organizacao,
    excluir_certificado,
)
from core.certificados.a1 import TAMANHO_MAXIMO_PFX
from core.models import CertificadoDigital
from core.sefaz.distribuicao import consultar_certificado
from core.sefaz.problemas import CertificadoComProblema, ConsultaNaoPermitida


class ConsultaNaoPermitidaAgora(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "consulta_nao_permitida"


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
    # Upload, options, deletion and the capture defaults: administradores. Capturing now only brings the
    # organization's documents in, as an import does: any member.
    permission_classes = [AdministradorParaAlterar]
    acoes_de_membro = ("consultar",)
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
        return Response(s.CertificadoSerializer(certificado).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, certificado):
        excluir_certificado(certificado)

    @extend_schema(
        request=ConsultarSerializer,
        responses={
            200: ExecucaoSerializer,
            409: OpenApiResponse(ERRO, description="Certificado vencido ou com problema a resolver"),
            429: OpenApiResponse(ERRO, description="A SEFAZ ainda não permite consultar (`detalhes.permitida_em`)"),
        },
    )
    @action(detail=True, methods=["post"])
    def consultar(self, request, pk=None):
        """Consulta a SEFAZ agora (distNSU), respeitando as esperas da SEFAZ.

        Busca até `SEFAZ_PAGINAS_POR_REQUISICAO` páginas; havendo mais, a próxima execução agendada
        continua de onde esta parou (`situacao: continua`). Dentro de uma espera ou bloqueio responde 429
        com o momento em que a consulta será permitida.
        """
        certificado = self.get_object()
        pedido = ConsultarSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        servicos = sorted(pedido.validated_data.get("servicos") or []) or None
        try:
            execucao = consultar_certificado(
                certificado, origem="api", servicos=servicos, exigir_permissao=True,
                max_paginas=settings.SEFAZ_PAGINAS_POR_REQUISICAO,
            )  # fmt: skip
        except CertificadoComProblema as erro:
            raise Conflito(erro.motivo) from None
        except ConsultaNaoPermitida as erro:
            permitida_em = timezone.localtime(erro.permitida_em).isoformat() if erro.permitida_em else None
            excecao = ConsultaNaoPermitidaAgora({"detail": erro.motivo, "permitida_em": permitida_em})
            excecao.wait = max(1, int((erro.permitida_em - timezone.now()).total_seconds())) if erro.permitida_em else None
            raise excecao from None
        return Response(ExecucaoSerializer(execucao).data)

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

