"""Invocations move to the jobs app (any job kind may make them): rows are copied into
``jobs_invocation`` with a generic reference to their dream, then the old table goes."""

from django.db import migrations, models

_COPIED = [
    "owner_id",
    "backend",
    "model_id",
    "region",
    "client_token",
    "arn",
    "status",
    "video_seconds",
    "estimated_cost_usd",
    "cost_usd",
    "polls",
    "poll_errors",
    "busy_retries",
    "failure_message",
    "created_at",
    "submitted_at",
    "last_polled_at",
    "finished_at",
]


def copy_invocations(apps, schema_editor):
    Old = apps.get_model("dreams", "Invocation")
    New = apps.get_model("jobs", "Invocation")
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not Old.objects.exists():
        return
    dream_type, _ = ContentType.objects.get_or_create(app_label="dreams", model="dream")
    for old in Old.objects.order_by("id").iterator():
        new = New(
            id=old.id,
            job_type=dream_type if old.dream_id is not None else None,
            job_id=old.dream_id,
            **{name: getattr(old, name) for name in _COPIED},
        )
        new.save()
        # auto_now_add would have replaced the original time.
        New.objects.filter(pk=new.pk).update(created_at=old.created_at)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('jobs_invocation', 'id'), "
            "(SELECT MAX(id) FROM jobs_invocation))"
        )


def copy_back(apps, schema_editor):
    Old = apps.get_model("dreams", "Invocation")
    New = apps.get_model("jobs", "Invocation")
    for new in New.objects.order_by("id").iterator():
        Old.objects.create(
            id=new.id,
            dream_id=new.job_id,
            **{name: getattr(new, name) for name in _COPIED},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dreams", "0002_cloud_invocations"),
        ("jobs", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(copy_invocations, copy_back),
        migrations.DeleteModel(name="Invocation"),
        migrations.AlterField(
            model_name="dream",
            name="error",
            field=models.TextField(blank=True, help_text="Shown to the user when the job failed."),
        ),
        migrations.AlterField(
            model_name="dream",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("canceled", "Cancelled"),
                ],
                db_index=True,
                default="queued",
                max_length=12,
            ),
        ),
    ]
