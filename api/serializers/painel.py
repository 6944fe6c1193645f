"""Response shape of /api/dashboard/ (documentation and rendering; the data comes from core.consultas.dashboard)."""

from django.urls import reverse
from rest_framework import serializers

from core.models import Finalidade, ImportLog, Situacao


def dinheiro(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=2, **kwargs)


class QuantidadeValorSerializer(serializers.Serializer):
    quantidade = serializers.IntegerField()
    valor = dinheiro()


class QuantidadeValorTributosSerializer(QuantidadeValorSerializer):
    ibs = dinheiro(help_text="Soma do IBS (UF + município) dos documentos com o grupo da reforma")
    cbs = dinheiro(help_text="Soma da CBS dos documentos com o grupo da reforma")


class PorFinalidadeSerializer(serializers.Serializer):
    finalidade = serializers.ChoiceField(
        choices=Finalidade.choices, allow_null=True, help_text="finNFe; null: resumos, que não a trazem"
    )
    finalidade_nome = serializers.CharField(allow_null=True)
    quantidade = serializers.IntegerField()
    valor = dinheiro(help_text="Soma de valor_total")
    ibs = dinheiro()
    cbs = dinheiro()


class PeriodoPainelSerializer(serializers.Serializer):
    inicio = serializers.DateField()
    fim = serializers.DateField()
    nfe = QuantidadeValorTributosSerializer(
        help_text="NF-e de operação (finalidade 1, 2, 3 ou resumo) emitidas no período: quantidade, soma de "
        "valor_total, IBS e CBS"
    )
    cte = QuantidadeValorTributosSerializer(
        help_text="CT-e emitidos no período: quantidade, soma de valor_prestacao, IBS e CBS"
    )
    nfe_por_finalidade = PorFinalidadeSerializer(
        many=True, help_text="Todas as NF-e do período por finalidade (devoluções, notas de crédito e débito à parte)"
    )


class ImportacaoRecenteSerializer(serializers.Serializer):
    arquivo = serializers.CharField()
    chave = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportLog.Status.choices)
    mensagem = serializers.CharField()
    criado_em = serializers.DateTimeField()


class ErrosRecentesSerializer(serializers.Serializer):
    quantidade = serializers.IntegerField()
    recentes = ImportacaoRecenteSerializer(many=True)


class NFePendenteSerializer(serializers.Serializer):
    chave = serializers.CharField()
    numero = serializers.IntegerField()
    serie = serializers.IntegerField()
    data_emissao = serializers.DateTimeField()
    emitente_nome = serializers.CharField()
    emitente_documento = serializers.CharField()
    valor = dinheiro()
    situacao = serializers.ChoiceField(choices=Situacao.choices)
    link = serializers.SerializerMethodField()

    tipo_de_documento = "nfe"  # the summary rows here are NF-e only; search rows carry their own "tipo"

    def get_link(self, documento) -> str:
        url = reverse(f"{documento.get('tipo', self.tipo_de_documento)}-detail", kwargs={"chave": documento["chave"]})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class NFePendentesSerializer(serializers.Serializer):
    quantidade = serializers.IntegerField()
    recentes = NFePendenteSerializer(many=True)


class CertificadoVencendoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nome = serializers.CharField()
    titular = serializers.CharField()
    cnpj = serializers.CharField()
    cpf = serializers.CharField()
    validade_fim = serializers.DateTimeField()
    dias_para_vencer = serializers.IntegerField(help_text="Negativo: já venceu")
    problema = serializers.CharField()


class SaudeDosWebhooksSerializer(serializers.Serializer):
    ativos = serializers.IntegerField()
    desativados = serializers.IntegerField(help_text="Pausados à mão ou pela desativação automática")
    pendentes = serializers.IntegerField(help_text="Entregas esperando a primeira tentativa ou uma nova")
    falhas_24h = serializers.IntegerField(help_text="Tentativas que falharam nas últimas 24 horas")
    ultimo_sucesso_em = serializers.DateTimeField(allow_null=True)


class PainelSerializer(serializers.Serializer):
    hoje = PeriodoPainelSerializer()
    mes = PeriodoPainelSerializer(help_text="O mês corrente inteiro, do dia 1 ao último dia")
    ultimas_importacoes = ImportacaoRecenteSerializer(many=True, help_text="As 10 importações mais recentes")
    erros_24h = ErrosRecentesSerializer(help_text="Importações com erro nas últimas 24 horas (até 10 listadas)")
    nfe_pendentes = NFePendentesSerializer(
        help_text="NF-e que só têm o resumo e aguardam o XML completo (até 10 listadas, as mais recentes)"
    )
    certificados_vencendo = CertificadoVencendoSerializer(
        many=True, help_text="Certificados A1 que vencem em até 30 dias ou já venceram (até 10, o mais próximo primeiro)"
    )
    webhooks = SaudeDosWebhooksSerializer(help_text="Webhooks ativos e desativados, entregas na fila e falhas em 24 h")
