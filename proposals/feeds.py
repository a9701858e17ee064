"""Atom feed of published RFPs."""

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from proposals import selectors
from rfp_portal import deadlines


class PublishedRFPFeed(Feed):
    feed_type = Atom1Feed
    title = _("RFP Portal: Requests for Proposals")
    subtitle = _("Requests for Proposals published on the portal, newest first.")
    link = reverse_lazy("home")

    def items(self):
        return selectors.published_rfps().order_by("-published_at")[:50]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return _("%(summary)s Deadline: %(deadline)s.") % {
            "summary": item.summary,
            "deadline": deadlines.format_deadline(item.deadline_instant, item.deadline_zone),
        }

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return item.issuer or item.funder
