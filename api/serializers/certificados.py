"""A1 certificates in and out of the API. The file and its password go in once and never come back out."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from core.certificados import OpcaoInvalida, atualizar_certificado, atualizar_configuracao, dias_para_vencer
from core.certificados.opcoes import (
    INTERVALO_MAXIMO_MINUTOS,
    SERVICOS,
    normalizar_destinatarios,
    normalizar_servicos,
    normalizar_uf,
)
from core.models import Ambiente, CertificadoDigital, ConfiguracaoConsulta
from core.models.sefaz import INTERVALO_MINIMO_MINUTOS


def _validado(normalizador, valor):
    try:
        return normalizador(valor)
    except OpcaoInvalida as erro:
        raise serializers.ValidationError(str(erro)) from None


@extend_schema_field({"type": "string", "pattern": "^([0-9]{2}|[A-Za-z]{2})$"})
class UFField(serializers.Field):
    """A UF as its IBGE code ("35") or abbreviation ("SP"); answered as the code (cUFAutor)."""

    def to_internal_value(self, valor):
        return _validado(normalizar_uf, valor)

    def to_representation(self, valor):
        return valor


@extend_schema_field(
    {"oneOf": [{"type": "array", "items": {"type": "string", "enum": SERVICOS}}, {"type": "string"}], "nullable": True}
)
class ListaDeServicosField(serializers.Field):
    """["nfe", "cte"], part of it, or the comma-separated text; in multipart, the field may repeat."""

    def __init__(self, *, permitir_nulo: bool, **kwargs):
        self.permitir_nulo = permitir_nulo
        super().__init__(allow_null=permitir_nulo, **kwargs)

    def get_value(self, dados):
        if html.is_html_input(dados) and self.field_name in dados:
            valores = dados.getlist(self.field_name)
            return valores[0] if len(valores) == 1 else valores
        return super().get_value(dados)

    def to_internal_value(self, valor):
        return _validado(lambda v: normalizar_servicos(v, permitir_nulo=self.permitir_nulo), valor)

    def to_representation(self, valor):
        return list(valor) if valor is not None else None


def _intervalo(**kwargs):
    return serializers.IntegerField(
        min_value=INTERVALO_MINIMO_MINUTOS, max_value=INTERVALO_MAXIMO_MINUTOS,
        help_text=f"Minutos entre consultas ({INTERVALO_MINIMO_MINUTOS} a {INTERVALO_MAXIMO_MINUTOS})", **kwargs,
    )  # fmt: skip


class CertificadoSerializer(serializers.ModelSerializer):
    """Metadata read from the file, plus the capture options (PATCH changes only these)."""

    uf = UFField(required=False, allow_null=False, help_text='Código IBGE da UF (cUFAutor), ex.: "35"; aceita "SP"')
    ambiente = serializers.ChoiceField(choices=Ambiente.choices, required=False, help_text="1 produção, 2 homologação")
    intervalo_minutos = _intervalo(required=False, allow_null=True)
    servicos = ListaDeServicosField(
        permitir_nulo=True, required=False, help_text="nfe e/ou cte; null = o padrão da organização"
    )
    ciencia_automatica = serializers.BooleanField(
        required=False, allow_null=True, help_text="Ciência da operação automática; null = o padrão da organização"
    )
    problema = serializers.CharField(
        required=False, allow_blank=True, max_length=300,
        help_text='Problema que impede as consultas (593, certificado vencido...); envie "" para limpá-lo',
    )  # fmt: skip
    dias_para_vencer = serializers.SerializerMethodField()
    vencido = serializers.SerializerMethodField()

    class Meta:
        model = CertificadoDigital
        fields = [
            "id", "nome", "cnpj", "cpf", "titular", "emissor", "numero_serie", "thumbprint", "validade_inicio",
            "validade_fim", "dias_para_vencer", "vencido", "consulta_automatica", "intervalo_minutos", "uf",
            "ambiente", "servicos", "ciencia_automatica", "problema", "problema_em", "criado_em",
        ]  # fmt: skip
        read_only_fields = [
            "id", "cnpj", "cpf", "titular", "emissor", "numero_serie", "thumbprint", "validade_inicio",
            "validade_fim", "problema_em", "criado_em",
        ]  # fmt: skip

    def get_dias_para_vencer(self, certificado) -> int:
        return dias_para_vencer(certificado.validade_fim)

    def get_vencido(self, certificado) -> bool:
        return dias_para_vencer(certificado.validade_fim) < 0

    def validate(self, dados):
        trocas = {"arquivo", "senha"} & set(getattr(self, "initial_data", None) or {})
        if trocas:
            mensagem = "Um arquivo novo é um certificado novo: cadastre-o (POST /api/certificados/) e exclua este."
            raise serializers.ValidationError({campo: [mensagem] for campo in sorted(trocas)})
        return dados

    def update(self, certificado, dados):
        return atualizar_certificado(certificado, **dados)


class NovoCertificadoSerializer(serializers.Serializer):
    """multipart/form-data: the A1 file, its password and, optionally, the capture options."""

    arquivo = serializers.FileField(help_text="O certificado A1 (.pfx ou .p12), com a chave privada")
    senha = serializers.CharField(
        write_only=True, allow_blank=True, trim_whitespace=False, max_length=1000, style={"input_type": "password"},
        help_text="Senha do arquivo; guardada cifrada e nunca devolvida",
    )  # fmt: skip
    nome = serializers.CharField(required=False, allow_blank=True, max_length=100)
    uf = UFField(required=False, help_text='UF do interessado (cUFAutor): "SP" ou "35"; padrão: a do certificado')
    ambiente = serializers.ChoiceField(choices=Ambiente.choices, default=Ambiente.PRODUCAO)
    consulta_automatica = serializers.BooleanField(default=False)
    intervalo_minutos = _intervalo(required=False, allow_null=True, default=None)
    servicos = ListaDeServicosField(permitir_nulo=True, required=False, default=None)
    # default=None also for an omitted multipart field (an HTML checkbox would otherwise read False).
    ciencia_automatica = serializers.BooleanField(required=False, allow_null=True, default=None)


class ConfiguracaoConsultaSerializer(serializers.ModelSerializer):
    """The organization's defaults for every certificate that does not set its own."""

    intervalo_minutos = _intervalo(required=False)
    servicos = ListaDeServicosField(permitir_nulo=False, required=False, help_text="nfe e/ou cte")
    destinatarios = serializers.ListField(
        child=serializers.CharField(), required=False, allow_empty=True,
        help_text="E-mails avisados de problemas na captura, além dos membros",
    )  # fmt: skip

    class Meta:
        model = ConfiguracaoConsulta
        fields = ["intervalo_minutos", "servicos", "ciencia_automatica", "destinatarios", "atualizado_em"]
        read_only_fields = ["atualizado_em"]

    def validate_destinatarios(self, valor):
        return _validado(normalizar_destinatarios, valor)

    def update(self, configuracao, dados):
        return atualizar_configuracao(configuracao, **dados)

