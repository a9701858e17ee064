"""Admin for RFP set-up. Saving goes through proposals.services so the deadline is computed."""

from django.contrib import admin

from proposals import services
from proposals.models import RFP, Criterion, Feature, Milestone, ProposalElement, TimelineEntry


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    show_change_link = True


class ElementInline(admin.StackedInline):
    model = ProposalElement
    extra = 0


class CriterionInline(admin.StackedInline):
    model = Criterion
    extra = 0


class FeatureInline(admin.TabularInline):
    model = Feature
    extra = 0


@admin.register(RFP)
class RFPAdmin(admin.ModelAdmin):
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
                ]
            },
        ),
        ("State", {"fields": ["status", "published_at", "opened_at", "created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.save_rfp(rfp=obj, actor=request.user, request=request)


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["name", "rfp"]
    inlines = [FeatureInline]
