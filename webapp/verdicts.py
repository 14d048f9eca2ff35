"""A signature's verdict in words, for whoever reads a signature report (webapp/verify_document.py):
the roles a Kazakh certificate grants, and why a signature does not stand."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from signing.certificates import ROLE_INDIVIDUAL, ROLE_ORGANISATION

# Role OIDs of Kazakh certificates (signing/certificates.py), in words.
ROLE_LABELS = {
    ROLE_INDIVIDUAL: _l("Individual"),
    ROLE_ORGANISATION: _l("Employee of an organisation"),
    ROLE_ORGANISATION + ".1": _l("Head of the organisation"),
    ROLE_ORGANISATION + ".2": _l("Right to sign"),
    ROLE_ORGANISATION + ".3": _l("Right to sign financial documents"),
    ROLE_ORGANISATION + ".4": _l("HR officer"),
    ROLE_ORGANISATION + ".5": _l("Employee"),
}
# Why a signature does not stand, said about the document (not to its signer):
# one for every reason code signing.verify raises (a test holds it to that).
VERDICT_PROBLEMS = {
    "malformed": _l("The file is not a readable XML document."),
    "too_large": _l("The document is larger than the portal reads: more than 2 MB or 10,000 elements, or nested too deep."),
    "doctype": _l("The document contains a document type declaration, which signed documents must not have."),
    "comments": _l("The document contains comments or processing instructions, which signed documents must not have."),
    "not_signed": _l("The document carries no XML signature."),
    "signature_location": _l("The signature is not the one enveloped signature of the whole document."),
    "signature_structure": _l("The signature is not laid out as an XML signature."),
    "algorithm": _l("The signature uses an algorithm the portal does not accept."),
    "legacy_gost": _l("The document is signed with an old GOST 34.310-2004 key, which is no longer accepted."),
    "key_info": _l("The signature does not carry exactly one signer certificate."),
    "key_value_mismatch": _l("The key in the signature does not match its certificate."),
    "signature_invalid": _l("The signature does not match the document: the document was changed after it was signed, or the signature is damaged."),
    "document_mismatch": _l("The signed document is not the expected one."),
    "ca_certificate": _l("The document is signed with a certification authority's certificate, not a person's or an organisation's."),
    "untrusted": _l("The signer's certificate was not issued by a trusted certification authority."),
    "expired": _l("The signer's certificate had expired."),
    "not_yet_valid": _l("The signer's certificate was not valid yet."),
    "revoked": _l("The signer's certificate has been revoked."),
    "revocation_unavailable": _l("Whether the signer's certificate has been revoked could not be checked. Try again in a few minutes."),
    "wrong_key_type": _l("The document is signed with an authentication key, which is for logging in, not for signing documents."),
    "not_individual": _l("The key belongs to an organisation, not to an individual."),
    "not_organisation": _l("The key is not an organisation's key."),
    "another_person": _l("The key belongs to someone other than the expected signer."),
}
GENERAL_PROBLEM = _l("The signature could not be checked.")


def role_label(oid: str) -> str:
    return str(ROLE_LABELS.get(oid, oid))


def verdict_problem(reason: str) -> str:
    return str(VERDICT_PROBLEMS.get(reason, GENERAL_PROBLEM))
