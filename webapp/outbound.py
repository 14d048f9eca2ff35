"""POSTing to another system's HTTP API (the SMS gateway, the service provider),
and telling a failure worth retrying from one that is not.

2xx: taken; 4xx: a permanent failure, except 408 and 429, which ask to come
back later; 5xx, timeouts and network errors: temporary; an untrusted
certificate: permanent; a redirect is not followed (a POST would lose its
body) and is a permanent failure.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import urllib.error
import urllib.request

# Statuses the other side may answer later without it being the request's fault.
_RETRYABLE_CLIENT_ERRORS = {408, 429}
_MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryError(Exception):
    """The other system did not take what was sent."""

    retry = False


class PermanentFailure(DeliveryError):
    """Trying again will not help."""


class TemporaryFailure(DeliveryError):
    """Worth trying again later."""

    retry = True


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be resent without its body, or somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Poster:
    """POSTs to one URL with HTTP basic auth; `who` names the other side in errors ("gateway")."""

    def __init__(self, url: str, user: str | None, password: str | None, timeout: float, who: str):
        self.url = url
        self.timeout = timeout
        self.who = who
        self._authorization = None
        if user is not None or password is not None:
            token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode("ascii")
            self._authorization = f"Basic {token}"
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, body: bytes, headers: dict[str, str]) -> bytes:
        """The answer's body (at most 64 KB) on 2xx; PermanentFailure or TemporaryFailure otherwise."""
        if self._authorization:
            headers = {**headers, "Authorization": self._authorization}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        who = self.who
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                payload = response.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as error:
            raise self._failure_for_status(error.code, _detail(error)) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, ssl.SSLCertVerificationError):
                raise PermanentFailure(f"{who} certificate not trusted: {error.reason}") from None
            if isinstance(error.reason, TimeoutError):
                raise TemporaryFailure(f"{who} timed out after {self.timeout:g} s") from None
            raise TemporaryFailure(f"{who} unreachable: {error.reason}") from None
        except TimeoutError:
            raise TemporaryFailure(f"{who} timed out after {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise TemporaryFailure(f"{who} connection failed: {error!r}") from None
        if not 200 <= status < 300:
            raise self._failure_for_status(status, "")
        return payload

    def _failure_for_status(self, status: int, detail: str) -> DeliveryError:
        text = f"{self.who} answered HTTP {status}" + (f": {detail}" if detail else "")
        if 300 <= status < 400:
            return PermanentFailure(text + " (redirects are not followed)")
        if 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS:
            return PermanentFailure(text)
        return TemporaryFailure(text)


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        body = error.read(512)
    except Exception:  # noqa: BLE001  (an unreadable error body says nothing more)
        return ""
    return " ".join(body.decode("utf-8", "replace").split())[:150]
