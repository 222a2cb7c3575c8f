"""The Telegram channel on python-telegram-bot: the pure parser (``parse``), the Bot API client
run on its own event loop (``bot``), the sender and the file fetcher (``send``), the long-polling
transport (``poll``), the bot's answers to commands (``replies``) and the declared capability."""
