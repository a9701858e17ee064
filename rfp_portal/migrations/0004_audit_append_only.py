"""The audit trail is append-only in the database itself (PostgreSQL): UPDATE and DELETE on
rfp_portal_auditevent raise, whoever sends them (the app, the admin, a shell, a stray script).
TRUNCATE, a table owner's maintenance operation (and how test databases are reset), is not
blocked. A user with audit events cannot be deleted (their events would change): deactivate.

SQLite (the embedded demo) has no such trigger; there the application is the only writer and
it never updates or deletes an event.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rfp_portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: %% on rfp_portal_auditevent refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER rfp_portal_audit_no_update_or_delete
    BEFORE UPDATE OR DELETE ON rfp_portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION rfp_portal_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS rfp_portal_audit_no_update_or_delete ON rfp_portal_auditevent;
DROP FUNCTION IF EXISTS rfp_portal_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("rfp_portal", "0003_outboxmessage_headers")]

    operations = [migrations.RunPython(forwards, backwards)]
