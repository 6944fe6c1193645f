"""Uploads in, import results and import logs out."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.urls import reverse
from rest_framework import serializers

from api.envio import ArquivoRecusado
from core.documentos.entrada import mapear
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
        """The files as pipeline inputs, each opened only when the pipeline reaches it.

        A file Django streamed to disk is mapped, not read: the pipeline takes a ZIP one entry at a
        time. A file refused for size while it streamed (api.envio) comes with its size and SHA-256.
        """
        arquivos = list(self.validated_data.get("arquivos") or [])
        if self.validated_data.get("arquivo"):
            arquivos.append(self.validated_data["arquivo"])
        for arquivo in arquivos:
            nome = arquivo.name or "arquivo"
            if isinstance(arquivo, ArquivoRecusado):
                yield Entrada(nome, b"", erro=arquivo.motivo, tamanho=arquivo.size, sha256=arquivo.sha256)
                continue
            with arquivo, _conteudo(arquivo) as conteudo:
                yield Entrada(nome, conteudo)


@contextmanager
def _conteudo(arquivo):
    if not isinstance(arquivo, TemporaryUploadedFile):
        arquivo.seek(0)
        yield arquivo.read()  # in memory already: at most FILE_UPLOAD_MAX_MEMORY_SIZE
        return
    mapa = mapear(arquivo.file)
    try:
        yield mapa
    finally:
        if not isinstance(mapa, bytes):
            with suppress(BufferError):  # a view someone still holds: the mapping goes with it
                mapa.close()


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
