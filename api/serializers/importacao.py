"""Uploads in, import results and import logs out."""

from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from core.documentos.importacao import Entrada
from core.models import CTe, EventoDocumento, ImportLog, NFe, TipoDocumento


class ImportarSerializer(serializers.Serializer):
    """Um ou mais arquivos XML ou ZIP, no campo `arquivos` (repetível) ou `arquivo`."""

    # Empty files are allowed here so the pipeline reports them per file instead of failing all.
    arquivos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, help_text="XMLs ou ZIPs de XMLs"
    )
    arquivo = serializers.FileField(allow_empty_file=True, required=False, help_text="Um XML ou ZIP")

    def validate(self, dados):
        if not dados.get("arquivos") and not dados.get("arquivo"):
            raise serializers.ValidationError({"arquivos": ["Envie ao menos um arquivo XML ou ZIP no campo 'arquivos'."]})
        return dados

    def entradas(self) -> Iterator[Entrada]:
        """The files as pipeline inputs, each read only when the pipeline reaches it."""
        arquivos = list(self.validated_data.get("arquivos") or [])
        if self.validated_data.get("arquivo"):
            arquivos.append(self.validated_data["arquivo"])
        # The same bound as the folder command (core.documentos.lote): an upload above it is never
        # read into memory. Django already spooled anything above FILE_UPLOAD_MAX_MEMORY_SIZE to disk.
        limite = max(settings.FISCAL_MAX_ZIP_TOTAL_BYTES, settings.FISCAL_MAX_XML_BYTES)
        for arquivo in arquivos:
            nome = arquivo.name or "arquivo"
            if arquivo.size > limite:
                yield Entrada(nome, b"", erro=f"arquivo com mais de {limite} bytes, acima do limite de importação")
                continue
            arquivo.seek(0)
            yield Entrada(nome, arquivo.read())
            arquivo.close()


class ResultadoSerializer(serializers.Serializer):
    arquivo = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportLog.Status.choices)
    mensagem = serializers.CharField()
    chave = serializers.CharField()
    tipo_xml = serializers.CharField()
    link = serializers.SerializerMethodField(
        help_text="Detalhe do documento gravado (de um evento, o do documento a que ele se refere)"
    )

    def get_link(self, resultado) -> str | None:
        caminho = _caminho_do_documento(resultado.documento)
        request = self.context.get("request")
        if caminho is None or request is None:
            return caminho
        return request.build_absolute_uri(caminho)


def _caminho_do_documento(documento) -> str | None:
    if isinstance(documento, NFe):
        return reverse("nfe-detail", kwargs={"chave": documento.chave})
    if isinstance(documento, CTe):
        return reverse("cte-detail", kwargs={"chave": documento.chave})
    if isinstance(documento, EventoDocumento) and (documento.nfe_id or documento.cte_id):
        rota = "nfe-detail" if documento.tipo_documento == TipoDocumento.NFE else "cte-detail"
        return reverse(rota, kwargs={"chave": documento.chave})
    return None


class ResumoSerializer(serializers.Serializer):
    sucesso = serializers.IntegerField()
    duplicado = serializers.IntegerField()
    erro = serializers.IntegerField()


class ImportacaoSerializer(serializers.Serializer):
    """Quantos documentos de cada situação, e o resultado de cada um, na ordem dos arquivos."""

    resumo = ResumoSerializer()
    resultados = ResultadoSerializer(many=True)

    @classmethod
    def de_resultados(cls, resultados: list, **kwargs) -> "ImportacaoSerializer":
        contagem = Counter(r.status for r in resultados)
        resumo = {status: contagem[status] for status in ImportLog.Status.values}
        return cls({"resumo": resumo, "resultados": resultados}, **kwargs)


class ImportLogSerializer(serializers.ModelSerializer):
    usuario = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Quem enviou; vazio se veio da pasta ou da SEFAZ"
    )
    xml = serializers.SerializerMethodField(
        help_text="Onde baixar os bytes recebidos (GET); null quando não foram guardados (acima do limite de tamanho)"
    )

    class Meta:
        model = ImportLog
        fields = [
            "id", "arquivo", "status", "mensagem", "chave", "tipo_xml", "origem", "nsu", "usuario", "tamanho",
            "sha256", "xml", "reprocessado_de", "criado_em",
        ]  # fmt: skip

    def get_xml(self, log) -> str | None:
        if log.xml_id is None:
            return None
        caminho = reverse("importacao-xml", kwargs={"pk": log.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(caminho) if request is not None else caminho


class ResultadoReprocessadoSerializer(ResultadoSerializer):
    id = serializers.IntegerField(source="log.pk", help_text="O novo registro de importação (GET /api/importacoes/)")


class ReprocessamentoSerializer(serializers.Serializer):
    """A importação original e o que a nova tentativa sobre os mesmos bytes deu, documento a documento."""

    reprocessado_de = serializers.IntegerField(help_text="A primeira tentativa deste arquivo")
    resumo = ResumoSerializer()
    resultados = ResultadoReprocessadoSerializer(many=True)

    @classmethod
    def de_resultados(cls, original: ImportLog, resultados: list, **kwargs) -> "ReprocessamentoSerializer":
        contagem = Counter(r.status for r in resultados)
        resumo = {status: contagem[status] for status in ImportLog.Status.values}
        return cls({"reprocessado_de": original.pk, "resumo": resumo, "resultados": resultados}, **kwargs)
