"""Django admin, one module per area; Django's autodiscover imports this package, which imports them all.

`base` holds what every page is built on (the staff user's role and organization, the scoping of every
list, the read-only and cascade-only mixins) and imports no other module of the package. Each area module
imports `base` (and a sibling where it must), never this package: no import cycle, and any area module can
be imported first. Staff see only their organization; superusers see all.

Every core model is registered in an area module, except `ArquivoXML` (the stored original, reached through
each document's "baixar XML" link) and `NFeItem` (shown inline in its NF-e); tests/admin/test_paginas.py
checks it. The index page adds a dashboard (templates/admin/index.html, fed by
core/templatetags/painel_admin.py).
"""

from . import (  # noqa: F401
    documentos,
    emails,
    importacoes,
    operacao,
    organizacoes,
    sefaz,
    tokens,
    webhooks,
)
