"""URLs of the RFP and proposal pages: public, proposer, team and staff (included at the root
by rfp_portal/urls.py; names are global, as every template and test uses them)."""

from django.urls import include, path

from proposals.feeds import PublishedRFPFeed
from proposals.views import (
    editor,
    editor_parts,
    proposer,
    public,
    receipt_files,
    staff,
    team,
    transparency,
)

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
    path("versions/<int:number>/document/", proposer.version_document, name="version_document"),
    path("versions/<int:number>/receipt.pdf", proposer.receipt_pdf, name="receipt_pdf"),
    path("versions/<int:number>/receipt.json", receipt_files.signed_receipt, name="signed_receipt"),
]

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
    # The keys that sign receipts (proposals.receipt_signing), at a well-known address.
    path(".well-known/receipt-keys.json", receipt_files.receipt_keys, name="receipt_keys"),
    path(
        ".well-known/receipt-keys/<str:key_id>.pem",
        receipt_files.receipt_key_pem,
        name="receipt_key_pem",
    ),
    # The transparency log (proposals.transparency): public pages and JSON.
    path("transparency/", transparency.index, name="transparency"),
    path("transparency/<slug:slug>/", transparency.rfp_log, name="transparency_rfp"),
    path("transparency/<slug:slug>/heads/", transparency.heads_json, name="transparency_heads"),
    path(
        "transparency/<slug:slug>/heads/<int:head_id>/",
        transparency.head_json,
        name="transparency_head",
    ),
    path(
        "transparency/<slug:slug>/heads/<int:head_id>/statement.json",
        transparency.head_statement,
        name="transparency_head_statement",
    ),
    path(
        "transparency/<slug:slug>/heads/<int:head_id>/token.tsr",
        transparency.head_token,
        name="transparency_head_token",
    ),
    path("transparency/<slug:slug>/proof/", transparency.inclusion_json, name="transparency_proof"),
    path(
        "transparency/<slug:slug>/consistency/",
        transparency.consistency_json,
        name="transparency_consistency",
    ),
    path("transparency/<slug:slug>/leaves/", transparency.leaves_json, name="transparency_leaves"),
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
    path("staff/", staff.home, name="staff_home"),
    path("staff/rfps/<slug:slug>/addendum/", staff.publish_addendum, name="staff_addendum"),
    path("staff/rfps/<slug:slug>/questions/", staff.questions, name="staff_questions"),
    path("staff/rfps/import/", staff.import_file, name="staff_rfp_import"),
    path("staff/rfps/new/", editor.new, name="staff_rfp_new"),
    path("staff/rfps/markdown-preview/", editor.markdown_preview, name="staff_markdown_preview"),
    path("staff/rfps/deadline-preview/", editor.deadline_preview, name="staff_deadline_preview"),
    path("staff/rfps/<slug:slug>/edit/", editor.basics, name="staff_rfp_edit_basics"),
    path("staff/rfps/<slug:slug>/edit/deadline/", editor.deadline, name="staff_rfp_edit_deadline"),
    path(
        "staff/rfps/<slug:slug>/edit/timeline/",
        editor_parts.timeline,
        name="staff_rfp_edit_timeline",
    ),
    path("staff/rfps/<slug:slug>/edit/scope/", editor_parts.scope, name="staff_rfp_edit_scope"),
    path(
        "staff/rfps/<slug:slug>/edit/elements/",
        editor_parts.elements,
        name="staff_rfp_edit_elements",
    ),
    path(
        "staff/rfps/<slug:slug>/edit/criteria/",
        editor_parts.criteria,
        name="staff_rfp_edit_criteria",
    ),
    path("staff/rfps/<slug:slug>/preview/", staff.preview, name="staff_rfp_preview"),
    path("staff/rfps/<slug:slug>/open/", staff.open_by_hand, name="staff_rfp_open"),
    path("staff/rfps/<slug:slug>/publish/", staff.publish, name="staff_rfp_publish"),
    path("staff/rfps/<slug:slug>/duplicate/", staff.duplicate, name="staff_rfp_duplicate"),
    path("staff/rfps/<slug:slug>/download.toml", staff.download, name="staff_rfp_download"),
    path("staff/audit/", staff.audit_log, name="audit_log"),
]
