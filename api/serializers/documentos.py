"""How NF-e, CT-e, their items and events look in the API."""

from rest_framework import serializers

from core.models import CTe, EventoDocumento, NFe, NFeItem, OutroDocumento

CAMPOS_COMUNS = [
    "chave", "modelo", "serie", "numero", "data_emissao", "natureza_operacao", "ambiente",
    "emitente_documento", "emitente_nome", "emitente_uf", "emitente_ie",
    "destinatario_documento", "destinatario_nome", "destinatario_uf",
    "situacao", "completa", "assinatura", "origem", "nsu",
    "protocolo", "data_recebimento", "codigo_status", "criado_em", "atualizado_em",
]  # fmt: skip

CAMPOS_NFE = CAMPOS_COMUNS + [
    "tipo_operacao", "data_saida_entrada", "destinatario_tipo_documento",
    "valor_total", "valor_produtos", "valor_icms", "valor_ipi", "valor_frete", "valor_desconto",
]  # fmt: skip

CAMPOS_CTE = CAMPOS_COMUNS + [
    "cfop", "tipo_cte", "modal", "tipo_servico",
    "remetente_documento", "remetente_nome", "remetente_uf",
    "expedidor_documento", "expedidor_nome", "expedidor_uf",
    "recebedor_documento", "recebedor_nome", "recebedor_uf",
    "tomador_papel", "tomador_documento", "tomador_nome", "tomador_uf",
    "codigo_municipio_inicio", "municipio_inicio", "uf_inicio",
    "codigo_municipio_fim", "municipio_fim", "uf_fim",
    "valor_prestacao", "valor_receber", "valor_carga", "valor_icms", "chaves_nfe",
]  # fmt: skip


class LinksMixin(serializers.Serializer):
    links = serializers.SerializerMethodField()
    prefixo_url = ""
    nome_pdf = ""

    def get_links(self, documento) -> dict[str, str]:
        request = self.context.get("request")
        base = f"/api/{self.prefixo_url}/{documento.chave}/"
        links = {"detalhe": base, "xml": f"{base}xml/"}
        if documento.completa and self.nome_pdf:
            links[self.nome_pdf] = f"{base}{self.nome_pdf}/"
        if request is not None:
            links = {nome: request.build_absolute_uri(url) for nome, url in links.items()}
        return links


class ItemNFeSerializer(serializers.ModelSerializer):
    class Meta:
        model = NFeItem
        fields = [
            "numero", "codigo", "descricao", "ncm", "cfop", "unidade", "ean", "quantidade",
            "valor_unitario", "valor_total", "valor_desconto", "valor_icms", "valor_ipi",
        ]  # fmt: skip


class EventoSerializer(serializers.ModelSerializer):
    # From the event catalogue (core.documentos.tipos_evento): no query.
    nome = serializers.CharField(
        read_only=True, help_text='Nome oficial do tipo (descEvento do esquema); "Evento <código>" fora do catálogo'
    )
    significado = serializers.CharField(read_only=True, help_text="O que o tipo de evento faz; vazio fora do catálogo")
    cancelado = serializers.BooleanField(
        read_only=True, help_text="Cancelado por outro evento (110001, por exemplo); continua guardado"
    )

    class Meta:
        model = EventoDocumento
        fields = [
            "tipo_evento", "nome", "significado", "categoria", "cancelado", "descricao", "sequencia", "data_evento",
            "autor_documento", "protocolo", "data_registro", "codigo_status", "completo", "detalhes", "origem",
            "criado_em",
        ]  # fmt: skip


class NFeSerializer(LinksMixin, serializers.ModelSerializer):
    prefixo_url, nome_pdf = "nfes", "danfe"

    class Meta:
        model = NFe
        fields = CAMPOS_NFE + ["links"]


class NFeDetalheSerializer(NFeSerializer):
    itens = ItemNFeSerializer(many=True, read_only=True)
    eventos = EventoSerializer(many=True, read_only=True)

    class Meta(NFeSerializer.Meta):
        fields = NFeSerializer.Meta.fields + ["itens", "eventos"]


class CTeSerializer(LinksMixin, serializers.ModelSerializer):
    prefixo_url, nome_pdf = "ctes", "dacte"

    class Meta:
        model = CTe
        fields = CAMPOS_CTE + ["links"]


class CTeDetalheSerializer(CTeSerializer):
    eventos = EventoSerializer(many=True, read_only=True)

    class Meta(CTeSerializer.Meta):
        fields = CTeSerializer.Meta.fields + ["eventos"]


class OutroDocumentoSerializer(LinksMixin, serializers.ModelSerializer):
    prefixo_url, nome_pdf = "outros-documentos", ""  # no DANFE/DACTE layout for these kinds

    class Meta:
        model = OutroDocumento
        fields = CAMPOS_COMUNS + ["tipo", "tipo_xml", "valor_total", "links"]


class EventoPendenteSerializer(serializers.ModelSerializer):
    """An event whose document has not arrived (yet): listed so it is never invisible."""

    class Meta:
        model = EventoDocumento
        fields = ["chave", "tipo_documento", "assinatura", *EventoSerializer.Meta.fields]
