from django.apps import AppConfig


class ActionplanConfig(AppConfig):
    name = "actionplan"

    def ready(self) -> None:
        # Outcomes sits below actionplan (DESIGN.md): it hands reviews to a hook, and the
        # notifications here tell the providers who must act.
        from actionplan.voice import services as voice_services
        from outcomes import services as outcome_services

        if voice_services.notify_values_reviewed not in outcome_services.values_reviewed_hooks:
            outcome_services.values_reviewed_hooks.append(voice_services.notify_values_reviewed)
