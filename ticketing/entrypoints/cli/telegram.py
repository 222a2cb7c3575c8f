"""``ticketing telegram webhook set|delete``: register the webhook with Telegram
(``setWebhook`` with ``TICKETING_TELEGRAM_WEBHOOK_URL`` and the secret), or remove it so that
the worker's long polling takes over (``deleteWebhook``)."""

from __future__ import annotations

import argparse

from ticketing.app import App
from ticketing.entrypoints.cli.command import Group, command, group
from ticketing.entrypoints.telegram import register_webhook, remove_webhook


def register(sub: Group) -> None:
    telegram = group(sub, "telegram", help="the Telegram bot")
    hook = group(telegram, "webhook", help="Telegram's webhook registration")
    command(hook, "set", _set, help="setWebhook to TICKETING_TELEGRAM_WEBHOOK_URL with the "
                                    "secret (then updates arrive at POST "
                                    "/channels/telegram/webhook)")
    command(hook, "delete", _delete, help="deleteWebhook (then the worker long-polls "
                                          "getUpdates; unset TICKETING_TELEGRAM_WEBHOOK_URL)")


def _set(app: App, args: argparse.Namespace) -> int:
    print(f"webhook set: {register_webhook(app)}")
    return 0


def _delete(app: App, args: argparse.Namespace) -> int:
    remove_webhook(app)
    print("webhook deleted; the worker polls getUpdates when TICKETING_TELEGRAM_WEBHOOK_URL "
          "is empty")
    return 0
