"""Pages for quarterly stories: index, story and Easy Read, print, edit, publish, draft now, and the Atom feed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from commissioning.narrative import permissions, selectors, services
from commissioning.narrative.forms import DraftForm, StoryFilterForm, StoryForm
from commissioning.narrative.models import Story, StoryStatus
from kernel.concurrency import StaleEdit, conflict_rows, stale_edit_context
from kernel.forms import add_service_errors, posted
from kernel.markdown import render_markdown
from stakeholders.permissions import require

PAGE_SIZE = 20
NAV = "stories"
EASY_READ = "easy-read"
HELPERS = {"nav": NAV, "status_colours": {StoryStatus.DRAFT: "orange", StoryStatus.PUBLISHED: "green"}}


def _draft_form(request: HttpRequest, data: Any = None) -> DraftForm | None:
    if not permissions.can_draft_stories(request.user):
        return None
    return DraftForm(
        data, areas=permissions.editable_areas(request.user), last_quarter=services.last_complete_quarter()
    )


@require_GET
def story_list(request: HttpRequest) -> HttpResponse:
    form = StoryFilterForm(request.GET or None)
    area = form.cleaned_data.get("area") if form.is_valid() else None
    page = Paginator(selectors.story_index(request.user, area=area), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "commissioning/narrative/list.html",
        {"form": form, "page": page, "area": area, "draft_form": _draft_form(request), **HELPERS},
    )


@require_GET
def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    story = permissions.get_story_or_404(request.user, pk)
    easy = request.GET.get("version") == EASY_READ
    return render(
        request,
        "commissioning/narrative/detail.html",
        {
            "story": story,
            "easy": easy,
            "body": render_markdown(story.body, top_heading=2),
            "can_edit": permissions.can_edit_story(request.user, story),
            "history": selectors.story_history(story),
            **HELPERS,
        },
    )


@require_GET
def story_print(request: HttpRequest, pk: int) -> HttpResponse:
    story = permissions.get_story_or_404(request.user, pk)
    return render(
        request,
        "commissioning/narrative/print.html",
        {"story": story, "body": render_markdown(story.body, top_heading=2), "today": timezone.localdate(), **HELPERS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def story_edit(request: HttpRequest, pk: int) -> HttpResponse:
    story = permissions.get_story_or_404(request.user, pk, write=True)
    form = StoryForm(posted(request), initial=StoryForm.initial_for(story))
    preview = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        expected = data.pop("version") or story.version
        if "preview" in request.POST:
            preview = render_markdown(data["body"], top_heading=2)
        else:
            try:
                services.story_update(actor=request.user, story=story, expected_version=expected, **data)
            except StaleEdit as exc:
                current = Story.objects.select_related("area").get(pk=story.pk)
                again = request.POST.copy()
                again["version"] = str(exc.current.version)
                return render(
                    request,
                    "commissioning/narrative/edit.html",
                    {
                        "form": StoryForm(again),
                        "story": current,
                        **stale_edit_context(request, current, conflict_rows(form, current)),
                        **HELPERS,
                    },
                    status=409,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Story saved. A new draft from the data will no longer replace it.")
                return redirect(story)
    return render(
        request, "commissioning/narrative/edit.html", {"form": form, "story": story, "preview": preview, **HELPERS}
    )


@login_required
@require_POST
def story_publish(request: HttpRequest, pk: int) -> HttpResponse:
    story = permissions.get_story_or_404(request.user, pk, write=True)
    version = request.POST.get("version", "")
    try:
        services.story_publish(
            actor=request.user, story=story, expected_version=int(version) if version.isdigit() else story.version
        )
    except StaleEdit:
        messages.error(request, "The story changed since you loaded it: read it again, then publish.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Published, with its Easy Read version. Followers of the area's plans are told.")
    return redirect(story)


@login_required
@require_POST
def story_draft_now(request: HttpRequest) -> HttpResponse:
    """Draft (or read again from the data) one area's story of a quarter: quick, so done in the request.

    Every area at once is the quarterly job's work (or `manage.py draft_stories`, which reports progress).
    """
    require(permissions.can_draft_stories(request.user))
    form = _draft_form(request, request.POST)
    if form is None:  # not reached: can_draft_stories said yes
        raise PermissionDenied
    if form.is_valid():
        area = form.cleaned_data["area"]
        try:
            result = services.story_draft(actor=request.user, area=area, quarter_start=form.cleaned_data["quarter"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error("area", "You may draft only the stories of the areas you commission.")
        else:
            messages.success(
                request,
                {
                    services.Drafted.CREATED: "Drafted from the data. Check it, edit it and publish it.",
                    services.Drafted.REFRESHED: "The draft is read again from the latest data.",
                    services.Drafted.KEPT: "This story was edited or published, so it is kept as it is.",
                }[result.outcome],
            )
            return redirect(result.story)
    page = Paginator(selectors.story_index(request.user), PAGE_SIZE).get_page(1)
    return render(
        request,
        "commissioning/narrative/list.html",
        {"form": StoryFilterForm(), "page": page, "area": None, "draft_form": form, **HELPERS},
        status=400,
    )


class StoryFeed(Feed):
    """Published stories, newest first, as an Atom feed."""

    feed_type = Atom1Feed
    title = "London mental health stories"
    subtitle = "What changed each quarter, for London and each borough, told from the data."

    def link(self) -> str:
        return reverse("story_list")

    def feed_url(self) -> str:
        return reverse("story_feed")

    def items(self) -> list[Story]:
        return list(selectors.published_feed()[:50])

    def item_title(self, item: Story) -> str:
        return item.title

    def item_description(self, item: Story) -> str:
        return str(render_markdown(item.body, top_heading=2))

    def item_link(self, item: Story) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Story) -> Any:
        return item.published_at

    def item_updateddate(self, item: Story) -> Any:
        return item.updated_at

    def item_author_name(self, item: Story) -> str:
        return item.area.name

    def item_categories(self, item: Story) -> list[str]:
        return [item.area.name, item.quarter_label]


story_feed = require_GET(StoryFeed())
