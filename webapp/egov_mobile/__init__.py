"""Signing and logging in with the eGov Mobile app (sessions.py: the protocol; pages.py, routes.py: the pages)."""
