"""RFC 3161 timestamp tokens on tree heads (rfp_portal.timestamping; proposals.transparency)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0009_transparency_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="treehead",
            name="tsa_token",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="treehead",
            name="tsa_gen_time",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="treehead",
            name="tsa_serial",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treehead",
            name="tsa_name",
            field=models.CharField(blank=True, default="", max_length=255),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treehead",
            name="tsa_url",
            field=models.CharField(blank=True, default="", max_length=255),
            preserve_default=False,
        ),
    ]
