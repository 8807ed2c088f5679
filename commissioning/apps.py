from django.apps import AppConfig


class CommissioningConfig(AppConfig):
    name = "commissioning"

    def ready(self) -> None:
        # Outcomes sits below commissioning (DESIGN.md): it hands each review to a hook, and
        # commissioning.queries opens the query threads and tells the providers who must act.
        from commissioning.queries import services as query_services
        from outcomes import services as outcome_services

        if query_services.queries_open_or_requery not in outcome_services.values_reviewed_hooks:
            outcome_services.values_reviewed_hooks.append(query_services.queries_open_or_requery)
        if query_services.reviewers_tell_of_submission not in outcome_services.submission_written_hooks:
            outcome_services.submission_written_hooks.append(query_services.reviewers_tell_of_submission)
