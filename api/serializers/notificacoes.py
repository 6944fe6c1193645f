"""The caller's e-mail notification preferences."""

from rest_framework import serializers

from core.models import PreferenciaNotificacao
from core.models.notificacoes import TIPOS_DE_NOTIFICACAO

CAMPOS = [nome for nome, _, _ in TIPOS_DE_NOTIFICACAO]


class PreferenciasSerializer(serializers.ModelSerializer):
    """Quais notificações por e-mail o usuário recebe. Sem escolha feita, valem os padrões."""

    email = serializers.SerializerMethodField(help_text="Endereço que recebe os avisos (vazio: nenhum aviso é enviado)")

    class Meta:
        model = PreferenciaNotificacao
        fields = ["email", *CAMPOS]
        extra_kwargs = {
            nome: {"help_text": f"{rotulo} (padrão: {'ligado' if padrao else 'desligado'})"}
            for nome, padrao, rotulo in TIPOS_DE_NOTIFICACAO
        }

    def get_email(self, preferencia) -> str:
        return preferencia.usuario.email or ""

    def validate(self, dados):
        desconhecidos = sorted(set(self.initial_data) - set(CAMPOS)) if isinstance(self.initial_data, dict) else []
        if desconhecidos:
            raise serializers.ValidationError(
                {nome: [f"Notificação desconhecida. Use: {', '.join(CAMPOS)}."] for nome in desconhecidos}
            )
        return dados
