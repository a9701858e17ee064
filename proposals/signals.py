"""What proposals announces to the layer above it, which reacts without proposals calling it.

rfp_opened: sent by services.open_rfp for each RFP it opens (for open_due_rfps, or for staff
opening by hand), inside the opening's transaction (receivers' writes commit or roll back with
the opening), with the keyword
arguments rfp= (the opened RFP) and now= (the opening instant). evaluation tells the reviewers
assigned before opening (evaluation.receivers).
"""

from django.dispatch import Signal

rfp_opened = Signal()
