"""Webhooks of the organization and their delivery logs. Thin: the rules live in core.webhooks.gestao."""

from datetime import timedelta

from django.core.exceptions import ValidationError as ErroDeValidacao
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import DaOrganizacaoMixin
from api.erros import Conflito
from api.filtros import DataOuDataHoraField, WebhookLogFilterSet
from api.paginacao import PaginacaoPorData
from api.permissoes import AdministradorDaOrganizacao, AdministradorParaAlterar
from api.serializers import webhooks as s
from core.models import Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks import gestao
from core.webhooks.estatisticas import estatisticas_dos_webhooks

PERIODO_PADRAO_ESTATISTICAS = timedelta(days=30)


def _resultado_de_teste(log: WebhookLog) -> dict:
    return {
        "sucesso": log.status == WebhookLog.Status.SUCESSO, "codigo_http": log.codigo_http,
        "duracao_ms": log.duracao_ms, "trecho_resposta": log.trecho_resposta, "erro": log.erro,
        "evento": log.evento.payload, "log": log.pk,
    }  # fmt: skip


class WebhookViewSet(DaOrganizacaoMixin, viewsets.ModelViewSet):
    """Webhooks que recebem os eventos da organização, assinados no padrão Standard Webhooks."""

    model = Webhook
    serializer_class = s.WebhookSerializer
    permission_classes = [AdministradorParaAlterar]  # creating, testing, resending, rotating: administradores
    lookup_value_regex = r"\d+"
    pagination_class = None

    def get_serializer_class(self):
        return s.WebhookCriadoSerializer if self.action == "create" else s.WebhookSerializer

    @extend_schema(responses={201: s.WebhookCriadoSerializer})
    def create(self, request, *args, **kwargs):
        """Cria o webhook. A resposta traz o `segredo`: ele não aparece de novo em nenhuma outra resposta."""
        return super().create(request, *args, **kwargs)

    @extend_schema(request=None, responses=s.TesteDeEntregaSerializer)
    @action(detail=True, methods=["post"])
    def testar(self, request, pk=None):
        """Envia agora um evento `teste` a este webhook e devolve o resultado da tentativa."""
        try:
            log = gestao.testar_webhook(self.get_object())
        except gestao.OperacaoInvalida as erro:
            raise Conflito(str(erro)) from None
        return Response(_resultado_de_teste(log))

    @extend_schema(request=None, responses=s.WebhookLogSerializer)
    @action(detail=True, methods=["post"], url_path=r"logs/(?P<log_id>\d+)/reenviar")
    def reenviar(self, request, pk=None, log_id=None):
        """Reenvia agora o evento desta tentativa, como uma tentativa nova; devolve o resultado dela."""
        webhook = self.get_object()
        log = get_object_or_404(escopo(WebhookLog, self.organizacao).select_related("webhook"), pk=log_id, webhook=webhook)
        try:
            nova = gestao.reenviar(log)
        except gestao.OperacaoInvalida as erro:
            raise Conflito(str(erro)) from None
        nova.tipo_evento = nova.evento.tipo
        return Response(s.WebhookLogSerializer(nova).data)

    @extend_schema(request=s.RecuperarSerializer, responses={200: s.RecuperacaoSerializer, 202: s.RecuperacaoSerializer})
    @action(detail=True, methods=["post"])
    def recuperar(self, request, pk=None):
        """Reenvia todo evento desde `desde` que este webhook não recebeu (`dry_run` só conta)."""
        webhook = self.get_object()
        pedido = s.RecuperarSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        dry_run = pedido.validated_data["dry_run"]
        try:
            quantos = gestao.recuperar(webhook, pedido.validated_data["desde"], dry_run=dry_run)
        except gestao.OperacaoInvalida as erro:
            raise Conflito(str(erro)) from None
        except ValueError as erro:
            raise ValidationError({"desde": [str(erro)]}) from None
        return Response({"eventos": quantos, "dry_run": dry_run}, status=status.HTTP_200_OK if dry_run else status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.RotacaoSerializer, responses=s.SegredoRotacionadoSerializer)
    @action(detail=True, methods=["post"], url_path="rotacionar-segredo")
    def rotacionar_segredo(self, request, pk=None):
        """Gera um segredo novo; o anterior continua assinando (segunda assinatura) por `sobreposicao_horas`."""
        webhook = self.get_object()
        pedido = s.RotacaoSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        segredo, expira = gestao.rotacionar_segredo(webhook, pedido.validated_data["sobreposicao_horas"])
        return Response({"segredo": segredo, "segredo_anterior_expira_em": expira})

    @extend_schema(
        parameters=[OpenApiParameter("desde", str, description="AAAA-MM-DD ou data e hora ISO 8601 (padrão: 30 dias atrás)")],
        responses=s.EstatisticasDeWebhooksSerializer,
    )
    @action(detail=False, methods=["get"])
    def estatisticas(self, request):
        """Por webhook: entregas, taxa de sucesso, latência média e p95, último sucesso, último erro."""
        texto = request.query_params.get("desde", "")
        try:
            desde = DataOuDataHoraField(required=False).clean(texto) or timezone.now() - PERIODO_PADRAO_ESTATISTICAS
        except ErroDeValidacao as erro:
            raise ValidationError({"desde": erro.messages}) from None
        return Response(
            s.EstatisticasDeWebhooksSerializer({"desde": desde, "webhooks": estatisticas_dos_webhooks(self.organizacao, desde)}).data
        )


class WebhookLogsView(DaOrganizacaoMixin, generics.ListAPIView):
    """Cada tentativa de entrega deste webhook, da mais recente para a mais antiga."""

    model = WebhookLog
    serializer_class = s.WebhookLogSerializer
    pagination_class = PaginacaoPorData
    filter_backends = [DjangoFilterBackend]
    filterset_class = WebhookLogFilterSet

    def get_queryset(self):
        tentativas = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return tentativas
        webhook = get_object_or_404(escopo(Webhook, self.organizacao), pk=self.kwargs["pk"])
        return tentativas.filter(webhook=webhook).annotate(tipo_evento=F("evento__tipo"))


class DispararEventoView(APIView):
    """Emite um evento à mão, com o `dados` enviado: ele vai para o feed e para os webhooks inscritos."""

    permission_classes = [AdministradorDaOrganizacao]

    @extend_schema(request=s.DispararSerializer, responses={201: s.EventoDisparadoSerializer})
    def post(self, request):
        pedido = s.DispararSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        evento, entregas = gestao.disparar_manualmente(request.organizacao, **pedido.validated_data)
        corpo = {"id": evento.id, "evento": evento.tipo, "criado_em": evento.criado_em, "entregas": entregas}
        return Response(s.EventoDisparadoSerializer(corpo).data, status=status.HTTP_201_CREATED)


class TestarUrlView(APIView):
    """Envia um evento `teste` assinado a uma URL qualquer, sem salvar nada, e devolve o resultado."""

    # Sends signed requests from our servers to any URL: an integration chore, like the webhooks themselves.
    permission_classes = [AdministradorDaOrganizacao]

    @extend_schema(request=s.TestarUrlSerializer, responses=s.TesteDeEntregaSerializer)
    def post(self, request):
        pedido = s.TestarUrlSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        dados = pedido.validated_data
        resultado = gestao.testar_url(dados["url"], dados.get("segredo"), dados.get("headers"), dados["timeout"])
        return Response(s.TesteDeEntregaSerializer(resultado).data)
