"""URLs of the evaluation: reviewers' pages, the staff's evaluation of an RFP, and what a
proposer sees of it (decision, clarifications) under the proposal's own path. Included at the
root by rfp_portal/urls.py; names are global, as every template and test uses them."""

from django.urls import include, path

from evaluation.views import ocds, plan, proposer, reviewer, staff

staff_urls = [
    path("", staff.staff_evaluation, name="staff_evaluation"),
    path("invite/", staff.staff_invite_reviewer, name="staff_invite_reviewer"),
    path(
        "reviewers/<int:user_id>/remove/",
        staff.staff_remove_reviewer,
        name="staff_remove_reviewer",
    ),
    path("assign/", staff.staff_assign, name="staff_assign"),
    path("dashboard/", staff.staff_dashboard, name="staff_dashboard"),
    path("decisions/<int:proposal_id>/", staff.staff_decision, name="staff_decision"),
    path("decisions/publish/", staff.staff_publish_decisions, name="staff_publish_decisions"),
    path("decisions/preliminary/", staff.staff_preliminary, name="staff_preliminary"),
    path("plan/", plan.staff_plan, name="staff_plan"),
    path("plan/adopt/", plan.staff_plan_adopt, name="staff_plan_adopt"),
    path("plan/lottery/", plan.staff_plan_lottery, name="staff_plan_lottery"),
    path("plan/lottery/<int:lottery_id>/", plan.staff_lottery, name="staff_lottery"),
    path("exports/", staff.staff_exports, name="staff_exports"),
    path("exports/<int:export_id>/", staff.staff_export_status, name="staff_export_status"),
    path(
        "exports/<int:export_id>/download/",
        staff.staff_export_download,
        name="staff_export_download",
    ),
    path("auto-assign/", staff.staff_auto_assign, name="staff_auto_assign"),
    path("reviews/<int:review_id>/reopen/", staff.staff_reopen_review, name="staff_reopen_review"),
]

urlpatterns = [
    # Open contracting data (evaluation.ocds): public, read only.
    path("rfps/<slug:slug>.ocds.json", ocds.release_package, name="ocds_release_package"),
    path("rfps/<slug:slug>/ocds/record.json", ocds.record_package, name="ocds_record_package"),
    path("ocds/releases.json", ocds.all_releases, name="ocds_releases"),
    path("proposals/<int:pk>/decision/", proposer.proposal_decision, name="proposal_decision"),
    path(
        "proposals/<int:pk>/clarifications/",
        proposer.proposal_clarifications,
        name="proposal_clarifications",
    ),
    path("review/", reviewer.reviewer_home, name="reviewer_home"),
    path("review/<int:proposal_id>/", reviewer.review, name="review"),
    path("review/<int:proposal_id>/conflict/", reviewer.conflict, name="review_conflict"),
    path(
        "review/<int:proposal_id>/scorecard.pdf", reviewer.review_scorecard, name="review_scorecard"
    ),
    path("review/<int:proposal_id>/autosave/", reviewer.review_autosave, name="review_autosave"),
    path(
        "review/<int:proposal_id>/discussion/", reviewer.discussion_post, name="review_discussion"
    ),
    path("reviewers/join/<str:token>/", reviewer.reviewer_invitation, name="reviewer_invitation"),
    path("staff/rfps/<slug:slug>/evaluation/", include(staff_urls)),
]
