"""Webhooks in and out of the API. The secret appears in exactly two responses: creation and rotation."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.eventos.catalogo import TIPOS
from core.models import Webhook, WebhookLog
from core.models.webhooks import agenda_de_tentativas
from core.webhooks import gestao
from core.webhooks.rede import URLRecusada


@extend_schema_field(
    {"oneOf": [{"type": "array", "items": {"type": "string", "enum": list(TIPOS)}}, {"type": "string"}]}
)
class ListaDeEventosField(serializers.Field):
    """A list of event names, or the comma-separated string of the examples ("nfe_importada,cte_importado").

    Empty (or omitted) means every event.
    """

    def to_internal_value(self, valor):
        if isinstance(valor, str):
            valor = [parte.strip() for parte in valor.split(",") if parte.strip()]
        if not isinstance(valor, list) or not all(isinstance(v, str) for v in valor):
            raise serializers.ValidationError("Envie uma lista de nomes de eventos ou um texto separado por vírgulas.")
        try:
            return gestao.validar_eventos(valor)
        except ValueError as erro:
            raise serializers.ValidationError(str(erro)) from None

    def to_representation(self, valor):
        return list(valor or [])


class WebhookSerializer(serializers.ModelSerializer):
    eventos = ListaDeEventosField(
        required=False, help_text=f"Lista (ou texto separado por vírgulas) de: {', '.join(TIPOS)}. Vazio = todos."
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="Cabeçalhos HTTP extras enviados em cada entrega"
    )
    timeout = serializers.IntegerField(min_value=1, max_value=30, required=False, help_text="Segundos (1 a 30, padrão 10)")
    max_tentativas = serializers.IntegerField(min_value=1, required=False, help_text="Tentativas por evento, contando a primeira")

    class Meta:
        model = Webhook
        fields = [
            "id", "nome", "url", "eventos", "ativo", "headers", "timeout", "max_tentativas", "criado_em",
            "ultimo_sucesso_em", "falhas_consecutivas", "desativado_em", "motivo_desativacao",
            "segredo_anterior_expira_em",
        ]  # fmt: skip
        read_only_fields = [
            "id", "criado_em", "ultimo_sucesso_em", "falhas_consecutivas", "desativado_em", "motivo_desativacao",
            "segredo_anterior_expira_em",
        ]  # fmt: skip

    def validate_url(self, url):
        try:
            return gestao.validar_url_de_webhook(url)
        except URLRecusada as erro:
            raise serializers.ValidationError(str(erro)) from None

    def validate_headers(self, headers):
        try:
            return gestao.validar_cabecalhos(headers)
        except ValueError as erro:
            raise serializers.ValidationError(str(erro)) from None

    def validate_max_tentativas(self, valor):
        maximo = len(agenda_de_tentativas()) + 1
        if valor > maximo:
            raise serializers.ValidationError(f"No máximo {maximo} (a primeira tentativa e uma por intervalo da agenda).")
        return valor

    def create(self, dados):
        webhook, segredo = gestao.criar_webhook(self.context["request"].organizacao, **dados)
        webhook.segredo_revelado = segredo
        return webhook

    def update(self, webhook, dados):
        return gestao.atualizar_webhook(webhook, **dados)


class WebhookCriadoSerializer(WebhookSerializer):
    segredo = serializers.CharField(
        source="segredo_revelado", read_only=True,
        help_text="Mostrado só agora: guarde-o para verificar as assinaturas (whsec_...)",
    )  # fmt: skip

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "segredo"]


class RotacaoSerializer(serializers.Serializer):
    sobreposicao_horas = serializers.FloatField(
        min_value=0, max_value=gestao.SOBREPOSICAO_MAXIMA_HORAS, default=gestao.SOBREPOSICAO_PADRAO_HORAS,
        help_text="Por quantas horas o segredo anterior continua assinando (padrão 24)",
    )  # fmt: skip


class SegredoRotacionadoSerializer(serializers.Serializer):
    segredo = serializers.CharField(help_text="O novo segredo, mostrado só agora")
    segredo_anterior_expira_em = serializers.DateTimeField(help_text="Até quando o segredo anterior também assina")


class WebhookLogSerializer(serializers.ModelSerializer):
    evento = serializers.CharField(source="evento_id", help_text="Id do evento (o mesmo cabeçalho webhook-id)")
    tipo_evento = serializers.CharField(help_text="nfe_importada, cte_importado, ...")

    class Meta:
        model = WebhookLog
        fields = [
            "id", "evento", "tipo_evento", "tentativa", "status", "classe_falha", "codigo_http", "duracao_ms",
            "trecho_resposta", "erro", "proxima_tentativa_em", "criado_em", "atualizado_em",
        ]  # fmt: skip
        extra_kwargs = {
            "classe_falha": {
                "help_text": "Por que a tentativa falhou: rede, tempo_esgotado, tls, http, recusada ou interna; vazio no sucesso"
            },
        }


class RecuperarSerializer(serializers.Serializer):
    desde = serializers.DateTimeField(help_text="Reenvia os eventos a partir deste momento (ISO 8601)")
    dry_run = serializers.BooleanField(default=False, help_text="Só conta, sem reenviar")


class RecuperacaoSerializer(serializers.Serializer):
    eventos = serializers.IntegerField(help_text="Quantos eventos seriam (dry_run) ou foram enfileirados")
    dry_run = serializers.BooleanField()


class EstatisticaDeWebhookSerializer(serializers.Serializer):
    webhook = serializers.IntegerField()
    nome = serializers.CharField()
    ativo = serializers.BooleanField()
    entregas = serializers.IntegerField(help_text="Tentativas concluídas no período")
    sucessos = serializers.IntegerField()
    falhas = serializers.IntegerField()
    taxa_de_sucesso = serializers.FloatField(allow_null=True, help_text="Percentual (0 a 100)")
    latencia_media_ms = serializers.IntegerField(allow_null=True)
    latencia_p95_ms = serializers.IntegerField(allow_null=True)
    ultimo_sucesso_em = serializers.DateTimeField(allow_null=True)
    ultimo_erro = serializers.DictField(allow_null=True)
    falhas_consecutivas = serializers.IntegerField()
    pendentes = serializers.IntegerField(help_text="Entregas na fila agora")


class EstatisticasDeWebhooksSerializer(serializers.Serializer):
    desde = serializers.DateTimeField()
    webhooks = EstatisticaDeWebhookSerializer(many=True)


class TesteDeEntregaSerializer(serializers.Serializer):
    sucesso = serializers.BooleanField()
    codigo_http = serializers.IntegerField(allow_null=True)
    duracao_ms = serializers.IntegerField(allow_null=True)
    trecho_resposta = serializers.CharField(allow_blank=True)
    erro = serializers.CharField(allow_blank=True)
    evento = serializers.DictField(help_text="O corpo enviado")
    log = serializers.IntegerField(required=False, help_text="A tentativa registrada no log do webhook")


class TestarUrlSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    segredo = serializers.CharField(required=False, allow_blank=True, help_text="whsec_...; gerado se ausente")
    headers = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    timeout = serializers.IntegerField(min_value=1, max_value=30, default=10)

    def validate_url(self, url):
        try:
            return gestao.validar_url_de_webhook(url)
        except URLRecusada as erro:
            raise serializers.ValidationError(str(erro)) from None

    def validate_segredo(self, segredo):
        if segredo and not gestao.segredo_valido(segredo):
            raise serializers.ValidationError("Segredo inválido: esperado 'whsec_' seguido de base64.")
        return segredo

    def validate_headers(self, headers):
        try:
            return gestao.validar_cabecalhos(headers)
        except ValueError as erro:
            raise serializers.ValidationError(str(erro)) from None


class DispararSerializer(serializers.Serializer):
    evento = serializers.ChoiceField(choices=list(TIPOS))
    dados = serializers.DictField(default=dict, help_text="O objeto `dados` do evento")

    def validate_dados(self, dados):
        if len(gestao.json_compacto(dados)) > gestao.MAX_BYTES_DADOS_MANUAIS:
            raise serializers.ValidationError(f"`dados` passa de {gestao.MAX_BYTES_DADOS_MANUAIS // 1024} KiB.")
        return dados


class EventoDisparadoSerializer(serializers.Serializer):
    id = serializers.CharField()
    evento = serializers.CharField()
    criado_em = serializers.DateTimeField()
    entregas = serializers.IntegerField(help_text="Webhooks que vão receber este evento")
