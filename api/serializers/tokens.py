"""API tokens in and out of the API. The key appears in exactly one response: the creation."""

from rest_framework import serializers

from core.models import TokenDeAPI


class TokenSerializer(serializers.ModelSerializer):
    usuario_nome = serializers.CharField(source="usuario.username", read_only=True, help_text="Login do usuário do token")

    class Meta:
        model = TokenDeAPI
        fields = ["id", "nome", "prefixo", "usuario", "usuario_nome", "criado_em", "expira_em", "ultimo_uso_em", "revogado_em"]
        read_only_fields = fields
        extra_kwargs = {
            "prefixo": {"help_text": "Primeiros caracteres da chave, para reconhecê-la"},
            "usuario": {"help_text": "Id do usuário em nome de quem o token age"},
            "ultimo_uso_em": {"help_text": "Atualizado no máximo uma vez por minuto"},
        }


class NovoTokenSerializer(serializers.Serializer):
    """What the caller sends; the rules (a future expiry, a member of the organization) are core.tokens'."""

    nome = serializers.CharField(max_length=100, help_text="Para que serve o token (ex.: ERP, integração X)")
    expira_em = serializers.DateTimeField(required=False, allow_null=True, help_text="Sem ela, o token não expira")
    usuario = serializers.IntegerField(required=False, help_text="Id de um membro da organização (padrão: quem chama)")


class TokenCriadoSerializer(TokenSerializer):
    chave = serializers.CharField(read_only=True, help_text="A chave do token: mostrada só nesta resposta")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "chave"]
        read_only_fields = fields
