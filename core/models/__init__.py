from .base import DaOrganizacao
from .documentos import (
    ArquivoXML,
    CTe,
    EstadoAssinatura,
    EventoDocumento,
    NFe,
    NFeItem,
    Origem,
    Situacao,
    TipoDocumento,
)
from .eventos import Evento
from .importacao import ImportLog
from .organizacao import Membro, Organizacao
from .webhooks import Webhook, WebhookLog

__all__ = [
    "ArquivoXML",
    "CTe",
    "DaOrganizacao",
    "EstadoAssinatura",
    "Evento",
    "EventoDocumento",
    "ImportLog",
    "Membro",
    "NFe",
    "NFeItem",
    "Organizacao",
    "Origem",
    "Situacao",
    "TipoDocumento",
    "Webhook",
    "WebhookLog",
]
