from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reference_tasks", "0003_periodic"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrecord",
            name="retry_at",
            field=models.DateTimeField(
                blank=True, help_text="When a failed task is retried.", null=True
            ),
        ),
    ]
