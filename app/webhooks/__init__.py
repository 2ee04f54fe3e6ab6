"""Outgoing webhooks: Standard Webhooks signing, the retry schedule and the SSRF guard."""
