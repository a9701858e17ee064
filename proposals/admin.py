"""Admin for RFP set-up (a back office: publishing is the portal's Publish… page), and the
proposals as the sealing rule lets staff see them. Saving goes through proposals.services so the
deadline is computed.

The core's audit trail and outbox are registered here too: which of their rows tell who bid
on a sealed RFP is this app's rule (proposals.rules)."""

from collections.abc import Callable

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from proposals import rules, selectors, services
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
from rfp_portal.models import AuditEvent, OutboxMessage


def published_as_stored(rfp) -> bool:
    """Whether the RFP is published in the database, not in a form's unsaved copy of it.

    The admin validates a POST by writing the form's values onto the object; the read-only rule
    looks at what is stored, so that what a form holds never decides what may be edited.
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


@admin.register(RFP)
class RFPAdmin(PortalModelAdmin):
    """A back office for data fixes. Publishing is not done here: status and publication time
    are read-only, and the change form links to the portal's Publish… page, which says who is
    e-mailed and asks for "I understand" (proposals.views.staff.publish)."""

    list_display = ["title", "status", "deadline_date", "deadline_zone", "deadline_instant"]
    list_filter = ["status", "sealed"]
    search_fields = ["title", "slug", "funder"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "deadline_instant",
        "status",
        "published_at",
        "publishing",
        "opened_at",
        "created_at",
        "updated_at",
    ]
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
        (
            "State",
            {
                "fields": [
                    "status",
                    "published_at",
                    "publishing",
                    "opened_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    # Once published, what readers rely on changes only by addendum (numbered, explained,
    # acknowledged): see proposals.addenda and the staff "Addendum" page.
    published_readonly = [
        "title", "slug", "funder", "issuer", "summary", "body_markdown", "deadline_date",
        "deadline_zone", "deadline_end_of_day", "deadline_time", "grace_seconds",
        "submissions_open_at", "currency", "total_cap", "max_revisions", "sealed",
        "refuse_active_content",
    ]  # fmt: skip

    @admin.display(description=_("Publishing"))
    def publishing(self, obj):
        if obj is None or obj.pk is None:
            return _("Save the draft first; it is published from the portal's Publish… page.")
        if published_as_stored(obj):
            return format_html(
                '{} <a href="{}">{}</a>',
                _("Published: it changes only by addendum."),
                reverse("staff_addendum", args=[obj.slug]),
                _("Publish an addendum"),
            )
        return format_html(
            '{} <a href="{}">{}</a>',
            _(
                "Not published here: the portal's page says who is e-mailed and asks you to "
                "confirm."
            ),
            reverse("staff_rfp_publish", args=[obj.slug]),
            _("Publish…"),
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if published_as_stored(obj):
            fields += self.published_readonly
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if published_as_stored(obj) else super().get_prepopulated_fields(request, obj)

    def save_model(self, request, obj, form, change):
        # Never publishes: the status and publication time stay as stored (a draft when new),
        # whatever a crafted POST says.
        stored = RFP.objects.filter(pk=obj.pk).values("status", "published_at").first()
        obj.status = stored["status"] if stored else RFP.Status.DRAFT
        obj.published_at = stored["published_at"] if stored else None
        services.save_rfp(rfp=obj, actor=request.user, request=request)


@admin.register(Milestone)
class MilestoneAdmin(PortalModelAdmin):
    list_display = ["name", "rfp"]
    inlines = [FeatureInline]


class SealedAdminMixin:
    """The admin shows proposal content only where proposals.selectors allows it (rule 2):
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


# --- The audit trail and the outbox (rfp_portal's models), sealed by this app's rule ------


class ReadOnlyAdmin(PortalModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SealedRowsAdmin(ReadOnlyAdmin):
    """Rows that tell who bid on an RFP still sealed (`sealed_rows`, a Q from
    proposals.rules) are in no list, search, filter choice, facet or date hierarchy here,
    and their pages are closed (403) until the RFP is opened (rule 2: staff see counts only)."""

    sealed_rows: Callable[[], Q]

    def get_queryset(self, request):
        # Everything the change list shows, counts and offers to filter by is read from here.
        return super().get_queryset(request).exclude(self.sealed_rows())

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            try:
                sealed = self.model._default_manager.filter(self.sealed_rows(), pk=object_id)
                closed = sealed.exists()
            except (ValueError, TypeError, ValidationError):
                closed = False
            if closed:
                raise PermissionDenied
        return obj


@admin.register(AuditEvent)
class AuditEventAdmin(SealedRowsAdmin):
    """Events about sealed proposals are not listed and their pages stay closed until the RFP
    is opened (the staff audit page counts them)."""

    sealed_rows = staticmethod(rules.sealed_audit_events)
    list_display = ["at", "actor_label", "action", "object_type", "object_label", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_label", "action"]
    date_hierarchy = "at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(SealedRowsAdmin):
    """Delivery, not content: a mail's subject and body are its recipient's (a receipt or an
    invitation names a sealed proposal, a reset mail holds a sign-in link).

    Until an RFP is opened, its mails that tell who bid (receipts, co-author invitations,
    reminders about a draft...; see rules.sealed_outbox_messages) are not listed: the
    list counts them.
    """

    sealed_rows = staticmethod(rules.sealed_outbox_messages)
    list_display = ["created_at", "to", "template", "state", "attempts", "sent_at"]
    list_filter = ["state", "template"]
    search_fields = ["to", "template"]
    fields = ["to", "template", "state", "attempts", "last_error", "created_at", "sent_at"]

    def changelist_view(self, request, extra_context=None):
        sealed = OutboxMessage.objects.filter(rules.sealed_outbox_messages())
        extra_context = {
            **(extra_context or {}),
            "sealed_messages": sealed.count(),
            "sealed_failed": sealed.filter(state=OutboxMessage.State.FAILED).count(),
        }
        return super().changelist_view(request, extra_context)
