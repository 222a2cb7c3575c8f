"""The Instagram channel: Meta webhooks (direct messages, comments and mentions), replies through
the Graph API, attachments fetched from Meta's CDN, and a reconciliation poller on instaloader
for the comments the webhooks never delivered."""
