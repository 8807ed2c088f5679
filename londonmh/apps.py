from django.apps import AppConfig


class LondonmhConfig(AppConfig):
    name = "londonmh"
    verbose_name = "London mental health portal"
