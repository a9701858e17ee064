"""Admin for RFP set-up. Saving goes through proposals.services so the deadline is computed."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from proposals import selectors, services
from proposals.models import (
    RFP,
    Criterion,
    Feature,
    Milestone,
    Proposal,
    ProposalElement,
    Question,
    SubmissionVersion,
    TimelineEntry,
)
from rfp_portal.admin_site import PortalModelAdmin, PortalPermissionsMixin


def published_as_stored(rfp) -> bool:
    """Whether the RFP is published in the database, not in a form's unsaved copy of it.

    The admin validates a POST by writing the form's values onto the object; a form that
    publishes and fails validation must be shown again editable, so the read-only rule looks at
    what is stored.
    """
    if rfp is None or rfp.pk is None:
        return False
    return RFP.objects.filter(pk=rfp.pk, status=RFP.Status.PUBLISHED).exists()


class FrozenOncePublishedInline(PortalPermissionsMixin):
    """A published RFP's parts change only through an addendum (staff page), never here."""

    def _frozen(self, obj) -> bool:
        return published_as_stored(getattr(obj, "rfp", obj))

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not self._frozen(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._frozen(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._frozen(obj)


class TimelineInline(FrozenOncePublishedInline, admin.TabularInline):
    model = TimelineEntry
    extra = 0


class MilestoneInline(FrozenOncePublishedInline, admin.TabularInline):
    model = Milestone
    extra = 0
    show_change_link = True


class ElementInline(FrozenOncePublishedInline, admin.StackedInline):
    model = ProposalElement
    extra = 0


class CriterionInline(FrozenOncePublishedInline, admin.StackedInline):
    model = Criterion
    extra = 0


class FeatureInline(FrozenOncePublishedInline, admin.TabularInline):
    model = Feature
    extra = 0


class RFPAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        # Publishing with "Published at" left empty means "now", as services.save_rfp does for
        # every other path; the model's constraint would otherwise refuse it by name.
        if cleaned.get("status") == RFP.Status.PUBLISHED and not cleaned.get("published_at"):
            cleaned["published_at"] = timezone.now()
        return cleaned


@admin.register(RFP)
class RFPAdmin(PortalModelAdmin):
    form = RFPAdminForm
    list_display = ["title", "status", "deadline_date", "deadline_zone", "deadline_instant"]
    list_filter = ["status", "sealed"]
    search_fields = ["title", "slug", "funder"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["deadline_instant", "opened_at", "created_at", "updated_at"]
    inlines = [TimelineInline, MilestoneInline, ElementInline, CriterionInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "funder", "issuer", "summary", "body_markdown"]}),
        (
            "Deadline",
            {
                "fields": [
                    "deadline_date",
                    "deadline_zone",
                    "deadline_end_of_day",
                    "deadline_time",
                    "deadline_instant",
                    "grace_seconds",
                    "submissions_open_at",
                    "review_due",
                ]
            },
        ),
        (
            "Rules",
            {
                "fields": [
                    "currency",
                    "total_cap",
                    "max_revisions",
                    "sealed",
                    "reviewers_see_others_first",
                    "refuse_active_content",
                ]
            },
        ),
        ("State", {"fields": ["status", "published_at", "opened_at", "created_at", "updated_at"]}),
    ]

    # Once published, what readers rely on changes only by addendum (numbered, explained,
    # acknowledged): see proposals.addenda and the staff "Addendum" page.
    published_readonly = [
        "title", "slug", "funder", "issuer", "summary", "body_markdown", "deadline_date",
        "deadline_zone", "deadline_end_of_day", "deadline_time", "grace_seconds",
        "submissions_open_at", "currency", "total_cap", "max_revisions", "sealed", "status",
        "published_at", "refuse_active_content",
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if published_as_stored(obj):
            fields += self.published_readonly
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if published_as_stored(obj) else super().get_prepopulated_fields(request, obj)

    def save_model(self, request, obj, form, change):
        services.save_rfp(rfp=obj, actor=request.user, request=request)


@admin.register(Milestone)
class MilestoneAdmin(PortalModelAdmin):
    list_display = ["name", "rfp"]
    inlines = [FeatureInline]


class SealedAdminMixin:
    """The admin shows proposal content only where rfp_portal.permissions allows it (rule 2):
    before opening, staff see nothing here (the staff page shows counts)."""

    def get_queryset(self, request):
        visible = selectors.proposals_visible_to(request.user)
        return super().get_queryset(request).filter(**{self.proposal_lookup: visible})

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(SealedAdminMixin, PortalModelAdmin):
    proposal_lookup = "pk__in"
    list_display = ["title", "rfp", "owner", "state", "updated_at"]
    list_filter = ["state", "rfp"]
    search_fields = ["title", "owner__email"]
    readonly_fields = [f.name for f in Proposal._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SubmissionVersion)
class SubmissionVersionAdmin(SealedAdminMixin, PortalModelAdmin):
    proposal_lookup = "proposal__in"
    list_display = ["proposal", "number", "received_at", "receipt_code"]
    readonly_fields = [f.name for f in SubmissionVersion._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Question)
class QuestionAdmin(PortalModelAdmin):
    list_display = ["rfp", "asked_at", "state"]
    list_filter = ["state", "rfp"]
    readonly_fields = ["rfp", "asker", "text", "asked_at"]
