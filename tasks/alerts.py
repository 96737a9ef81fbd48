"""Alert messages through Prefect's notification blocks: the channels, and the night's task.

What is due and what a message says is decided in
:mod:`insight_core.nightly.alert_delivery`; this module only turns the settings into Prefect
blocks (Slack, Microsoft Teams, a generic webhook, e-mail over SMTP, or any saved block) and
hands their ``notify`` over as the senders. The weekly digest (``tasks/digest.py``) goes
through the same channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.notifications import (
    AppriseNotificationBlock,
    CustomWebhookNotificationBlock,
    MicrosoftTeamsWebhook,
    SlackWebhook,
)

from insight_core.nightly import alert_delivery
from insight_core.nightly.context import RunContext
from insight_core.settings import InsightSettings
from tasks.policy import project_task

log = logging.getLogger(__name__)

# A sender takes any notice with a subject and a body: alert messages and the weekly digest
# go through the same channels.
NoticeSender = Callable[[alert_delivery.Notice], None]


def _sender(block: NotificationBlock) -> NoticeSender:
    def send(message: alert_delivery.Notice) -> None:
        # Apprise-based blocks only log a failed post unless asked to raise: a failure must
        # reach the delivery record so the next night retries it.
        with block.raise_on_failure():
            # NotificationBlock types notify as async; Prefect's blocks run it synchronously
            # when called from synchronous code (sync_compatible).
            block.notify(body=message.body, subject=message.subject)  # type: ignore[unused-coroutine]

    return send


def _failing(reason: str) -> NoticeSender:
    def send(message: alert_delivery.Notice) -> None:
        raise RuntimeError(reason)

    return send


def alert_senders(settings: InsightSettings) -> dict[str, NoticeSender]:
    """One sender per configured channel, keyed by a channel name kept with each delivery.

    A channel whose block cannot be built or loaded (a Prefect server down, a block renamed)
    still gets a sender, one that fails: its messages are recorded as failed and retried.
    """
    senders: dict[str, NoticeSender] = {}
    if settings.alert_block:
        channel = f"block:{settings.alert_block}"
        try:
            loaded = NotificationBlock.load(settings.alert_block)
            senders[channel] = _sender(loaded)  # type: ignore[arg-type]
        except Exception as exc:
            senders[channel] = _failing(f"cannot load block {settings.alert_block}: {exc}")
    if settings.alert_webhook_url:
        url = settings.alert_webhook_url.get_secret_value()
        kind = settings.alert_webhook_kind
        block: NotificationBlock
        if kind == "slack":
            block = SlackWebhook(url=url)  # type: ignore[arg-type]
        elif kind == "teams":
            block = MicrosoftTeamsWebhook(url=url)  # type: ignore[arg-type]
        else:
            block = CustomWebhookNotificationBlock(
                name="employee-insight-alerts",
                url=url,
                # Their defaults, given because mypy does not read pydantic's Field(None).
                headers=None,
                cookies=None,
                json_data={
                    "subject": "{{subject}}",
                    "text": "{{subject}}\n{{body}}",
                    "body": "{{body}}",
                },
            )
        senders[f"webhook:{kind}"] = _sender(block)
    if settings.alert_email_url:
        senders["email"] = _sender(AppriseNotificationBlock(url=settings.alert_email_url))
    return senders


def deliver(settings: InsightSettings, run_id: str | None = None) -> alert_delivery.DeliveryReport:
    """Send the due alert messages; never raises (a night does not fail for a receiver)."""
    try:
        senders = alert_senders(settings)
        if not senders:
            return alert_delivery.DeliveryReport()
        return alert_delivery.deliver_alerts(
            settings.warehouse_file, senders, settings.alert_link_base, run_id
        )
    except Exception:
        # E.g. the warehouse locked or unwritable: nothing was recorded as sent, so the next
        # night tries every due message again.
        log.exception("alert delivery failed; the next night tries again")
        return alert_delivery.DeliveryReport()


@project_task("deliver-alerts")
def deliver_alerts(ctx: RunContext) -> str:
    """The night's alert messages (docs/operations.md); a summary line for the run's log."""
    report = deliver(ctx.settings, ctx.run_id)
    return report.summary()
