from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "linli.tickets"
    label = "tickets"
    verbose_name = "工单"

    def ready(self) -> None:
        from . import median  # noqa: F401  - registers the SQLite median aggregate on every new connection
