from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "linli.notify"
    label = "notify"
    verbose_name = "通知 Notifications"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
