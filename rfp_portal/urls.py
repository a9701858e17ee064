"""URL map of the whole portal."""

from django.contrib import admin
from django.urls import include, path

from evaluation import views as evaluation_views
from proposals.feeds import PublishedRFPFeed
from proposals.views import proposer, public, staff, team
from rfp_portal import views as portal_views

proposal_urls = [
    path("", proposer.edit, name="proposal_edit"),
    path("budget-check/", proposer.budget_preview, name="proposal_budget"),
    path("autosave/", proposer.autosave, name="proposal_autosave"),
    path("document/", proposer.draft_document, name="proposal_document"),
    path("submit/", proposer.submit, name="proposal_submit"),
    path("withdraw/", proposer.withdraw, name="proposal_withdraw"),
    path("team/", team.team, name="proposal_team"),
    path("team/<int:member_id>/remove/", team.remove_member, name="proposal_remove_member"),
    path("versions/<int:number>/", proposer.version, name="proposal_version"),
    path("decision/", evaluation_views.proposal_decision, name="proposal_decision"),
    path(
        "clarifications/",
        evaluation_views.proposal_clarifications,
        name="proposal_clarifications",
    ),
    path("versions/<int:number>/document/", proposer.version_document, name="version_document"),
    path("versions/<int:number>/receipt.pdf", proposer.receipt_pdf, name="receipt_pdf"),
]

evaluation_staff_urls = [
    path("", evaluation_views.staff_evaluation, name="staff_evaluation"),
    path("invite/", evaluation_views.staff_invite_reviewer, name="staff_invite_reviewer"),
    path(
        "reviewers/<int:user_id>/remove/",
        evaluation_views.staff_remove_reviewer,
        name="staff_remove_reviewer",
    ),
    path("assign/", evaluation_views.staff_assign, name="staff_assign"),
    path("dashboard/", evaluation_views.staff_dashboard, name="staff_dashboard"),
    path("decisions/<int:proposal_id>/", evaluation_views.staff_decision, name="staff_decision"),
    path(
        "decisions/publish/",
        evaluation_views.staff_publish_decisions,
        name="staff_publish_decisions",
    ),
    path("decisions/preliminary/", evaluation_views.staff_preliminary, name="staff_preliminary"),
    path("exports/", evaluation_views.staff_exports, name="staff_exports"),
    path(
        "exports/<int:export_id>/",
        evaluation_views.staff_export_status,
        name="staff_export_status",
    ),
    path(
        "exports/<int:export_id>/download/",
        evaluation_views.staff_export_download,
        name="staff_export_download",
    ),
    path("auto-assign/", evaluation_views.staff_auto_assign, name="staff_auto_assign"),
    path(
        "reviews/<int:review_id>/reopen/",
        evaluation_views.staff_reopen_review,
        name="staff_reopen_review",
    ),
]

handler429 = "rfp_portal.views.too_many_requests"  # allauth's respond_429 uses it

urlpatterns = [
    path("", public.home, name="home"),
    path("rfps/<slug:slug>/", public.rfp_detail, name="rfp_detail"),
    path("rfps/<slug:slug>/deadline.ics", public.rfp_calendar, name="rfp_calendar"),
    path("rfps/<slug:slug>/addenda/<int:number>/", public.addendum_detail, name="addendum_detail"),
    path(
        "rfps/<slug:slug>/addenda/<int:number>/acknowledge/",
        proposer.acknowledge_addendum,
        name="addendum_acknowledge",
    ),
    path("rfps/<slug:slug>/propose/", proposer.start, name="proposal_start"),
    path("rfps/<slug:slug>/interest/", proposer.register_interest, name="rfp_interest"),
    path("rfps/<slug:slug>/questions/", public.ask_question, name="rfp_ask"),
    path("feeds/rfps.atom", PublishedRFPFeed(), name="rfp_feed"),
    path("verify/", public.verify_receipt, name="verify_receipt"),
    path("subscribe/", public.subscribe, name="subscribe"),
    path(
        "subscribe/confirm/<str:token>/", public.subscription_confirm, name="subscription_confirm"
    ),
    path(
        "subscribe/stop/<str:token>/",
        public.subscription_unsubscribe,
        name="subscription_unsubscribe",
    ),
    path("proposals/", proposer.my_proposals, name="my_proposals"),
    path("proposals/<int:pk>/", include(proposal_urls)),
    path("invitations/<str:token>/", team.accept_invitation, name="accept_invitation"),
    path("time-zone/", portal_views.set_time_zone, name="set_time_zone"),
    path("accounts/profile/", portal_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("staff/", staff.home, name="staff_home"),
    path("staff/rfps/<slug:slug>/addendum/", staff.publish_addendum, name="staff_addendum"),
    path("staff/rfps/<slug:slug>/questions/", staff.questions, name="staff_questions"),
    path("staff/audit/", portal_views.audit_log, name="audit_log"),
    path("review/", evaluation_views.reviewer_home, name="reviewer_home"),
    path("review/<int:proposal_id>/", evaluation_views.review, name="review"),
    path("review/<int:proposal_id>/conflict/", evaluation_views.conflict, name="review_conflict"),
    path(
        "review/<int:proposal_id>/scorecard.pdf",
        evaluation_views.review_scorecard,
        name="review_scorecard",
    ),
    path(
        "review/<int:proposal_id>/autosave/",
        evaluation_views.review_autosave,
        name="review_autosave",
    ),
    path(
        "review/<int:proposal_id>/discussion/",
        evaluation_views.discussion_post,
        name="review_discussion",
    ),
    path(
        "reviewers/join/<str:token>/",
        evaluation_views.reviewer_invitation,
        name="reviewer_invitation",
    ),
    path("staff/rfps/<slug:slug>/evaluation/", include(evaluation_staff_urls)),
    # Django's language switch (django.conf.urls.i18n), with its `next` checked first.
    path("i18n/setlang/", portal_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
