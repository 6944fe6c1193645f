"""SEFAZ queries (history), runs started from the API and manifestations."""

from rest_framework import serializers

from core.models import ConsultaSEFAZ
from core.models.sefaz import Manifestacao, TentativaDeManifestacao
from core.sefaz.manifestacao import MANIFESTACOES, MAX_POR_LOTE


class ConsultaSEFAZSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsultaSEFAZ
        fields = [
            "id", "certificado", "execucao", "documento", "servico", "ambiente", "tipo", "nsu_consultado",
            "chave_consultada", "cstat", "xmotivo", "ult_nsu", "max_nsu", "documentos", "importados",
            "duracao_ms", "erro", "origem", "criada_em",
        ]  # fmt: skip


class ResultadoDoServicoSerializer(serializers.Serializer):
    servico = serializers.CharField()
    situacao = serializers.CharField(
        help_text="concluida, continua (há mais; a próxima execução segue), aguardando, bloqueada, em_andamento, erro, problema"
    )
    chamadas = serializers.IntegerField()
    documentos = serializers.IntegerField()
    importados = serializers.IntegerField(help_text="Documentos novos ou atualizados nesta organização")
    duplicados = serializers.IntegerField(help_text="Documentos que esta organização já tinha")
    erros = serializers.IntegerField(help_text="Documentos recusados na importação (o arquivo fica no ImportLog)")
    cstat = serializers.IntegerField(allow_null=True)
    xmotivo = serializers.CharField(allow_blank=True)
    ult_nsu = serializers.IntegerField(allow_null=True)
    max_nsu = serializers.IntegerField(allow_null=True)
    proxima_consulta_em = serializers.DateTimeField(allow_null=True)
    mensagem = serializers.CharField(allow_blank=True)


class ExecucaoSerializer(serializers.Serializer):
    execucao = serializers.CharField(source="id", help_text="Filtre GET /api/consultas/?execucao= por ele")
    certificado = serializers.IntegerField(source="certificado_id")
    servicos = ResultadoDoServicoSerializer(many=True)


class ConsultarSerializer(serializers.Serializer):
    servicos = serializers.MultipleChoiceField(choices=["nfe", "cte"], required=False, help_text="Padrão: os do certificado")


class ManifestarSerializer(serializers.Serializer):
    tipo = serializers.ChoiceField(choices=list(MANIFESTACOES))
    justificativa = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                          help_text="15 a 255 caracteres; obrigatória em nao_realizada")  # fmt: skip
    certificado = serializers.IntegerField(required=False, help_text="Id do certificado; padrão: o do destinatário")


class ManifestarLoteSerializer(ManifestarSerializer):
    chaves = serializers.ListField(child=serializers.CharField(max_length=44), min_length=1, max_length=MAX_POR_LOTE)


class ResultadoManifestacaoSerializer(serializers.Serializer):
    chave = serializers.CharField()
    tipo = serializers.CharField()
    registrada = serializers.BooleanField()
    cstat = serializers.IntegerField(allow_null=True)
    xmotivo = serializers.CharField(allow_blank=True)
    protocolo = serializers.CharField(allow_blank=True)
    erro = serializers.CharField(allow_blank=True)
    sequencia = serializers.IntegerField(help_text="nSeqEvento enviado: 2 na segunda manifestação conclusiva do tipo")


class ResultadosManifestacaoSerializer(serializers.Serializer):
    resultados = ResultadoManifestacaoSerializer(many=True)


class TentativaDeManifestacaoSerializer(serializers.ModelSerializer):
    class Meta:
        model = TentativaDeManifestacao
        fields = ["criada_em", "cstat", "xmotivo", "erro", "origem"]


class ManifestacaoSerializer(serializers.ModelSerializer):
    historico = TentativaDeManifestacaoSerializer(many=True, read_only=True, help_text="Cada tentativa, da primeira")

    class Meta:
        model = Manifestacao
        fields = [
            "id", "chave", "tipo", "documento", "certificado", "origem", "situacao", "tentativas", "cstat",
            "xmotivo", "protocolo", "erro", "criada_em", "ultima_tentativa_em", "registrada_em", "historico",
        ]  # fmt: skip
