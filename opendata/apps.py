from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "opendata"
    verbose_name = "Open data"

    def ready(self) -> None:
        # Every recompute or rebuild that wrote metrics schedules a (debounced) rebuild of the
        # published data package; outcomes knows nothing of this app (it sits above outcomes).
        from opendata import tasks
        from outcomes import tasks as outcomes_tasks

        if tasks.schedule_package_rebuild not in outcomes_tasks.metrics_written_hooks:
            outcomes_tasks.metrics_written_hooks.append(tasks.schedule_package_rebuild)
