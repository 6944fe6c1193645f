"""How NF-e, CT-e, their items and events look in the API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.documentos.manifestacao_estado import TIPOS_DE_MANIFESTACAO, historico_da_manifestacao, resumo_da_manifestacao
from core.models import CTe, EstadoManifestacao, EventoDocumento, NFe, NFeItem, OutroDocumento

CAMPOS_COMUNS = [
    "chave", "modelo", "serie", "numero", "data_emissao", "natureza_operacao", "ambiente",
    "emitente_documento", "emitente_nome", "emitente_uf", "emitente_ie",
    "destinatario_documento", "destinatario_nome", "destinatario_uf",
    "situacao", "completa", "assinatura", "origem", "nsu",
    "protocolo", "data_recebimento", "codigo_status", "criado_em", "atualizado_em",
]  # fmt: skip

# The reform's totals (NT 2025.002-RTC): null when the NF-e has no such group, never zero.
CAMPOS_REFORMA_NFE = [
    "valor_nf", "valor_nf_tot", "valor_bc_ibs_cbs", "valor_ibs", "valor_ibs_uf", "valor_ibs_mun", "valor_cbs",
    "valor_credito_presumido_ibs", "valor_credito_presumido_cbs", "valor_is",
]  # fmt: skip

CAMPOS_NFE = CAMPOS_COMUNS + [
    "tipo_operacao", "finalidade", "finalidade_nome", "data_saida_entrada", "destinatario_tipo_documento",
    "valor_total", "valor_produtos", "valor_icms", "valor_ipi", "valor_frete", "valor_desconto",
    *CAMPOS_REFORMA_NFE,
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
    # imp/IBSCBS and imp/vTotDFe (NT 2025.001-RTC): null (codes blank) when the CT-e has no such group.
    "cst_ibs_cbs", "classificacao_tributaria", "valor_bc_ibs_cbs", "aliquota_ibs_uf", "valor_ibs_uf",
    "aliquota_ibs_mun", "valor_ibs_mun", "valor_ibs", "aliquota_cbs", "valor_cbs", "valor_total_dfe",
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
            "valor_item", "cst_ibs_cbs", "classificacao_tributaria", "valor_bc_ibs_cbs", "aliquota_ibs_uf",
            "valor_ibs_uf", "aliquota_ibs_mun", "valor_ibs_mun", "valor_ibs", "aliquota_cbs", "valor_cbs",
            "cst_is", "classificacao_tributaria_is", "valor_bc_is", "aliquota_is", "valor_is", "tributos_reforma",
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


class ManifestacaoDaNFeSerializer(serializers.Serializer):
    """The recipient's manifestation that counts (NT 2020.001: the last conclusive one) and its deadline."""

    situacao = serializers.ChoiceField(
        choices=["nenhuma", *(valor for valor in EstadoManifestacao.values if valor)],
        help_text="A que vale: a última conclusiva registrada; ciencia só enquanto não há conclusiva",
    )
    nome = serializers.CharField()
    data = serializers.DateTimeField(allow_null=True, help_text="dhEvento da manifestação que vale")
    protocolo = serializers.CharField(allow_blank=True, help_text="nProt do registro na SEFAZ")
    prazo = serializers.DateTimeField(allow_null=True, help_text="Fim do prazo: 180 dias da autorização; null em NFC-e")
    dias_restantes = serializers.IntegerField(allow_null=True, help_text="Dias até o prazo; negativo depois dele")


class HistoricoDeManifestacaoSerializer(serializers.Serializer):
    tipo = serializers.ChoiceField(choices=list(TIPOS_DE_MANIFESTACAO.values()))
    tipo_evento = serializers.CharField()
    data = serializers.DateTimeField()
    sequencia = serializers.IntegerField(help_text="nSeqEvento: 1, ou 2 na segunda manifestação conclusiva do tipo")
    protocolo = serializers.CharField(allow_blank=True)
    registrada = serializers.BooleanField(help_text="false: evento sem retorno da SEFAZ, que não conta")


class ManifestacaoDetalheSerializer(ManifestacaoDaNFeSerializer):
    historico = HistoricoDeManifestacaoSerializer(many=True, help_text="Cada evento de manifestação, do mais antigo")


# What the OpenAPI schema says about the figures whose meaning changed with the reform.
AJUDA_NFE = {
    "finalidade": {"help_text": "finNFe: 1 normal, 2 complementar, 3 ajuste, 4 devolução, 5 nota de crédito, "
                                "6 nota de débito; null no resumo"},
    "valor_total": {"help_text": "vNFTot quando a nota o traz (valor com IBS, CBS e IS cobrados por fora), senão vNF"},
    "valor_nf": {"help_text": "ICMSTot/vNF, sempre"},
    "valor_nf_tot": {"help_text": "total/vNFTot; null se a nota não o traz"},
    "valor_ibs": {"help_text": "IBSCBSTot/gIBS/vIBS (UF + município); null sem o grupo"},
    "valor_cbs": {"help_text": "IBSCBSTot/gCBS/vCBS; null sem o grupo"},
    "valor_is": {"help_text": "ISTot/vIS (Imposto Seletivo); null sem o grupo"},
    "tributos_reforma": {"help_text": "IBSCBSTot, ISTot e vNFTot como estão no XML (textos, nomes do leiaute)"},
}  # fmt: skip


class NFeSerializer(LinksMixin, serializers.ModelSerializer):
    prefixo_url, nome_pdf = "nfes", "danfe"
    finalidade_nome = serializers.CharField(
        source="get_finalidade_display", read_only=True, allow_null=True,
        help_text="Nome da finalidade (finNFe); null no resumo, que não a traz",
    )  # fmt: skip
    manifestacao = serializers.SerializerMethodField()

    class Meta:
        model = NFe
        fields = CAMPOS_NFE + ["manifestacao", "links"]
        extra_kwargs = AJUDA_NFE

    @extend_schema_field(ManifestacaoDaNFeSerializer)
    def get_manifestacao(self, nfe) -> dict:
        return ManifestacaoDaNFeSerializer(resumo_da_manifestacao(nfe)).data


class NFeDetalheSerializer(NFeSerializer):
    itens = ItemNFeSerializer(many=True, read_only=True)
    eventos = EventoSerializer(many=True, read_only=True)

    class Meta(NFeSerializer.Meta):
        fields = NFeSerializer.Meta.fields + ["tributos_reforma", "itens", "eventos"]

    @extend_schema_field(ManifestacaoDetalheSerializer)
    def get_manifestacao(self, nfe) -> dict:
        # The events are prefetched with the detail: no query here.
        historico = historico_da_manifestacao(nfe.eventos.all())
        return ManifestacaoDetalheSerializer({**resumo_da_manifestacao(nfe), "historico": historico}).data


class CTeSerializer(LinksMixin, serializers.ModelSerializer):
    prefixo_url, nome_pdf = "ctes", "dacte"

    class Meta:
        model = CTe
        fields = CAMPOS_CTE + ["links"]


class CTeDetalheSerializer(CTeSerializer):
    eventos = EventoSerializer(many=True, read_only=True)

    class Meta(CTeSerializer.Meta):
        fields = CTeSerializer.Meta.fields + ["tributos_reforma", "eventos"]


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
