"""Dates as a Brazilian fiscal team writes them (31/01/2026 23:30), in every admin list and page.

Django's pt-BR formats spell the month out ("31 de janeiro de 2026 às 23:30"), which is long in a list
column and unlike the documents, the DANFE and core.formatacao. Only these names change; the rest of
Django's pt-BR formats (input formats, separators) stay.
"""

DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
