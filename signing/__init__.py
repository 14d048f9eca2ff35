"""Signing and verifying XML digital signatures, free of Flask.

Filled in by the EDS work: the signed-document envelope, sign() and verify().
"""
