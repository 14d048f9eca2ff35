"""The checks the matrix makes on a page in Chromium, and the Nu HTML Checker
over saved server HTML. Each is a plain function so that tests/browser/matrix/test_harness.py
can show it catching a known fault."""

from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from tests.conftest import _untranslatable, catalogue_header
from webapp.config import REPO_ROOT

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = REPO_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Records what the Content Security Policy refused, in pages where scripts run;
# Chromium also logs each refusal on the console, which is what catches them
# with JavaScript off. Added with add_init_script, which the CSP does not govern.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def csp_refusal(text: str) -> bool:
    """A console message in which Chromium reports what a Content Security Policy
    refused (or, under a report-only policy, would refuse: logged as info, not error)."""
    return "Content Security Policy" in text


def watch(page) -> None:
    """Collect console errors, CSP refusals at any level, uncaught exceptions and
    failed responses on `page.problems` (the browser fixtures' page_at does too)."""
    page.problems = []
    page.on("console", lambda message: (message.type == "error" or csp_refusal(message.text))
            and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    # Which URL failed: Chromium's console message does not say.
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status} {r.url}"))


def problems(page, expected_status: int = 200) -> list[str]:
    """What went wrong while the page loaded: console errors, CSP refusals, failed responses."""
    found = list(page.problems)
    if expected_status != 200:
        # The page itself answered as it should (a 404 page), and Chromium logs that.
        found = [p for p in found if not p.startswith(f"{expected_status} {page.url}")
                 and "the server responded with a status of" not in p]
    try:
        found += [f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
    except Exception:  # noqa: BLE001 (no scripts on a JavaScript-off page: the console has them)
        pass
    return found


def csp_refusals(page) -> list[str]:
    """The CSP refusals among what went wrong on the page (console at any level, or the listener)."""
    return [p for p in problems(page) if csp_refusal(p) or p.startswith("CSP: ")]


# htmx swaps the page's own HTML back in: ids that match are settled by copying
# attributes across (class, style…), so an inline style would be set here, as in
# a boosted navigation. Resolves once htmx has settled the swap.
HTMX_SWAP_IN_PLACE = """url => new Promise(resolve => {
  document.body.addEventListener('htmx:afterSettle', () => resolve(true), {once: true});
  htmx.ajax('GET', url, {target: 'body', swap: 'innerHTML'});
})"""


def swap_in_place(page) -> None:
    """Load the page again the way htmx navigates (a boosted link to it): the console
    then shows what htmx's swap and settle did, which a plain page load never runs."""
    page.evaluate(HTMX_SWAP_IN_PLACE, page.url)


def horizontal_overflow(page) -> str | None:
    """None when nothing scrolls sideways, else the widths and the widest elements that stick out."""
    return page.evaluate(
        """() => {
          const width = window.innerWidth, doc = document.documentElement.scrollWidth;
          if (doc <= width) return null;
          const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 0.5)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                      (e.className && e.className.baseVal === undefined ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
                      ' right=' + Math.round(e.getBoundingClientRect().right));
          return `scrollWidth ${doc} > innerWidth ${width}: ` + wide.join(', ');
        }"""
    )


def untranslated(text: str, lang: str) -> list[str]:
    """English messages (from the catalogue) found in the text of a kk or ru page."""
    if lang not in ("kk", "ru"):
        return []
    text = re.sub(r"\s+", " ", text)
    return [msgid for msgid in _untranslatable(lang) if msgid in text]


def catalogue_header_on(page) -> list[str]:
    """Catalogue-header fields in the page as rendered: an empty text went through gettext."""
    return catalogue_header(page.content())


def visible_text(page) -> str:
    return page.title() + " " + page.inner_text("body")


@lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now, one line per rule.

    axe is evaluated through the DevTools protocol, which the page's CSP does not
    govern. It needs scripting (axe.run waits on timers), so a JavaScript-off
    render is checked on its twin: a page with scripting on whose own scripts
    are answered empty (see `without_page_scripts`), which leaves the same DOM.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(0, 2).join(' '))})))",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} — {' | '.join(v['targets'])}" for v in results]


def without_page_scripts(context) -> None:
    """Answer every script of the portal's with an empty one: with scripting on, the
    page is then what a browser with JavaScript off shows (the portal has no <noscript>)."""
    context.route("**/*.js", lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))


def vnu_errors(documents: dict[str, str], directory: Path) -> dict[str, list[str]]:
    """The Nu HTML Checker's errors for each named HTML document, in one JVM run."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, html in documents.items():
        path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.html"
        path.write_text(html, encoding="utf-8")
        files[path.name] = name
    if not files:
        return {}
    done = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *(str(directory / f) for f in files)],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(done.stderr or done.stdout or '{"messages": []}')
    found: dict[str, list[str]] = {}
    for message in report["messages"]:
        url = message.get("url", "?")
        name = files.get(url.rsplit("/", 1)[-1], url)
        found.setdefault(name, []).append(
            f"line {message.get('lastLine', '?')}: {message['message']} [{message.get('extract', '').strip()[:120]}]")
    if done.returncode not in (0, 1) and not found:
        found["vnu"] = [done.stderr[-2000:]]
    return found


def focus_ring(page) -> str | None:
    """How the focused element shows its focus, or None when it does not.

    Visible means an outline or a box-shadow on the element, or, for a radio or
    checkbox drawn by its label (the input itself is transparent), on the label's
    ::before box.
    """
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          if (!e || e === document.body) return null;
          const ring = (s, what) => {
            if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) return what + ' outline ' + s.outlineWidth + ' ' + s.outlineColor;
            if (s.boxShadow && s.boxShadow !== 'none') return what + ' box-shadow ' + s.boxShadow;
            return null;
          };
          let found = ring(getComputedStyle(e), e.tagName.toLowerCase());
          for (const label of (e.labels || [])) {
            found = found || ring(getComputedStyle(label, '::before'), 'label::before');
          }
          return found;
        }"""
    )
