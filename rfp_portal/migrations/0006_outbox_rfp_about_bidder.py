"""Outbox messages name the RFP they are about and whether they tell who bid on it (rule 2:
until the RFP is opened such a mail is in no admin list; see permissions.sealed_outbox_messages).

Messages stored before this migration are marked from their idempotency keys (what
outbox.queue_mail's callers put there): receipts, withdrawal notices, co-author invitations,
addendum and answer mails and deadline reminders tell who bid. Clarification and decision mails
are only ever sent after opening, when nothing about them is sealed any more.
"""

import django.db.models.deletion
from django.db import migrations, models

# key prefix -> (model holding the id in the key's second part, path from it to the RFP id)
ABOUT_BIDDER = {
    "receipt": ("SubmissionVersion", "proposal__rfp_id"),
    "withdrawn": ("Proposal", "rfp_id"),
    "invitation": ("Invitation", "proposal__rfp_id"),
    "addendum": ("Addendum", "rfp_id"),
    "answer": ("Question", "rfp_id"),
}


def mark_existing(apps, schema_editor):
    OutboxMessage = apps.get_model("rfp_portal", "OutboxMessage")
    RFP = apps.get_model("proposals", "RFP")
    rfps = set(RFP.objects.values_list("pk", flat=True))
    for message in OutboxMessage.objects.only("pk", "idempotency_key").iterator():
        parts = message.idempotency_key.split(":")
        rfp_id, about_bidder = None, False
        if parts[0] in ABOUT_BIDDER and len(parts) > 1 and parts[1].isdigit():
            model_name, path = ABOUT_BIDDER[parts[0]]
            model = apps.get_model("proposals", model_name)
            rfp_id = model.objects.filter(pk=int(parts[1])).values_list(path, flat=True).first()
            about_bidder = True
        elif parts[0] == "reminder" and len(parts) > 2 and parts[2].isdigit():
            rfp_id, about_bidder = int(parts[2]), parts[1] == "deadline"
        else:
            continue
        OutboxMessage.objects.filter(pk=message.pk).update(
            rfp_id=rfp_id if rfp_id in rfps else None, about_bidder=about_bidder
        )


class Migration(migrations.Migration):

    dependencies = [
        ('proposals', '0006_constraint_messages'),
        ('rfp_portal', '0005_audit_actor_protect'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='about_bidder',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='rfp',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='proposals.rfp'),
        ),
        migrations.RunPython(mark_existing, migrations.RunPython.noop),
    ]
