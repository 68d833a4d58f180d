from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "linli.places"
    label = "places"
    verbose_name = "地点 Places"
