from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes data"

    def ready(self) -> None:
        # Imports and reviews hand the (indicator, period) cells they changed to the
        # aggregation task, on commit.
        from outcomes import services, tasks

        if tasks.enqueue_metrics_recompute not in services.cells_changed_hooks:
            services.cells_changed_hooks.append(tasks.enqueue_metrics_recompute)
