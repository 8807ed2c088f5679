"""factory-boy factories. Organisations go through the service so they get their group."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from outcomes.models import Door, Indicator, Measure, Metric, PeriodType, Submission
from stakeholders.models import Area, AreaLevel, Membership, Organisation, OrganisationType, Role, User

TEST_PASSWORD = "a-long-test-password-42"
# GSS codes of boroughs the tests use often.
CAMDEN, ISLINGTON, LAMBETH = "E09000007", "E09000019", "E09000022"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"organisation-{n}")
    type = OrganisationType.NHS_MH_PROVIDER
    group = factory.LazyAttribute(lambda o: Group.objects.create(name=f"organisation:{o.slug}"))

    @factory.post_generation
    def boroughs(obj, create, extracted, **kwargs):
        """Pass boroughs=[...] (Areas or short codes like "CMD")."""
        if create and extracted:
            areas = [
                b if isinstance(b, Area) else Area.objects.get(short_code=b, level=AreaLevel.BOROUGH) for b in extracted
            ]
            obj.boroughs.set(areas)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.COMMISSIONER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        membership = super()._create(model_class, *args, **kwargs)
        membership.user.groups.add(membership.organisation.group)
        return membership


class IndicatorFactory(factory.django.DjangoModelFactory):
    """An indicator: a monthly proportion unless the test says otherwise (polarity: the model's default)."""

    class Meta:
        model = Indicator

    code = factory.Sequence(lambda n: f"indicator-{n}")
    name = factory.Sequence(lambda n: f"Indicator {n}")
    definition = "Defined for the test."
    measure = Measure.PROPORTION
    period_type = PeriodType.MONTH


class SubmissionFactory(factory.django.DjangoModelFactory):
    """A submission through the API, queued, by a new person for a new organisation unless given."""

    class Meta:
        model = Submission

    organisation = factory.SubFactory(OrganisationFactory)
    submitted_by = factory.SubFactory(UserFactory)
    door = Door.API


class MetricFactory(factory.django.DjangoModelFactory):
    """A stored metric, as the aggregation would write it: an approved all-people figure for Camden
    in January 2026 unless the test says otherwise (pass `breakdown` and `population_group` for a
    group's figure). The numbers are the test's to choose; nothing checks they agree."""

    class Meta:
        model = Metric

    indicator = factory.SubFactory(IndicatorFactory)
    area = factory.LazyFunction(lambda: Area.objects.get(code=CAMDEN))
    period_start = dt.date(2026, 1, 1)
    basis = Metric.Basis.APPROVED
    numerator = Decimal("50")
    denominator = 100
    providers = 1
    value = Decimal("50")
    lower95 = Decimal("40.4")
    upper95 = Decimal("59.6")
    lower998 = Decimal("34.8")
    upper998 = Decimal("65.2")
    also_provisional = True
    computed_at = factory.LazyFunction(timezone.now)
