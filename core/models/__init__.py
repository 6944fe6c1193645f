from .agregados import AgregadoCTe, AgregadoEmitente, AgregadoNFe, AgregadoRota, Grao
from .base import DaOrganizacao
from .documentos import (
    ArquivoXML,
    CTe,
    EstadoAssinatura,
    EstadoManifestacao,
    EventoDocumento,
    Finalidade,
    NFe,
    NFeItem,
    Origem,
    OutroDocumento,
    Situacao,
    TipoDocumento,
)
from .emails import EnvioEmail, TipoDeEmail
from .eventos import Evento
from .importacao import ImportLog
from .notificacoes import PreferenciaNotificacao
from .operacao import APIRequestLog, ContadorDeRequisicoes, ExecucaoDeTarefa, RelatorioEnviado, TravaDeTarefa
from .organizacao import Membro, Organizacao
from .sefaz import Ambiente, CertificadoDigital, ConfiguracaoConsulta, ConsultaSEFAZ, CursorDistribuicao, Servico
from .tokens import TokenDeAPI
from .webhooks import ClasseDeFalha, Webhook, WebhookLog

__all__ = [
    "AgregadoCTe",
    "AgregadoEmitente",
    "AgregadoNFe",
    "AgregadoRota",
    "Grao",
    "APIRequestLog",
    "ContadorDeRequisicoes",
    "ExecucaoDeTarefa",
    "RelatorioEnviado",
    "TravaDeTarefa",
    "Ambiente",
    "CertificadoDigital",
    "ConfiguracaoConsulta",
    "ConsultaSEFAZ",
    "CursorDistribuicao",
    "Servico",
    "ArquivoXML",
    "CTe",
    "DaOrganizacao",
    "EstadoAssinatura",
    "EstadoManifestacao",
    "Finalidade",
    "EnvioEmail",
    "Evento",
    "TipoDeEmail",
    "EventoDocumento",
    "ImportLog",
    "Membro",
    "NFe",
    "OutroDocumento",
    "NFeItem",
    "Organizacao",
    "Origem",
    "PreferenciaNotificacao",
    "Situacao",
    "TipoDocumento",
    "TokenDeAPI",
    "Webhook",
    "WebhookLog",
    "ClasseDeFalha",
]
