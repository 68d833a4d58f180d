"""Notifications: the outbox of every outgoing message, its channels (in-app, SMS, WeCom, email), delivery with
retries, dead letters and fallback, per-recipient preferences, and the in-app inbox."""
