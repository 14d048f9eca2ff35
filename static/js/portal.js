// Small enhancements; every page works without this file.
(function () {
  "use strict";

  // Move focus to the error summary so screen readers announce the problem.
  function focusErrorSummary(root) {
    var summary = root.querySelector('[data-module="error-summary"]');
    if (summary) {
      summary.focus();
      return true;
    }
    return false;
  }

  // After htmx swaps in a new page, say where the citizen now is.
  function focusHeading(root) {
    var heading = root.querySelector("main h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  // One click, one submission: a second click while the first is on its way is ignored.
  document.addEventListener("click", function (event) {
    var button = event.target.closest('[data-prevent-double-click="true"]');
    if (!button) return;
    if (button.dataset.clicked === "true") {
      event.preventDefault();
      return;
    }
    button.dataset.clicked = "true";
    window.setTimeout(function () { delete button.dataset.clicked; }, 1500);
  });

  // Links styled as buttons answer the Space key as buttons do.
  document.addEventListener("keydown", function (event) {
    if (event.key !== " ") return;
    var link = event.target.closest && event.target.closest('a[role="button"]');
    if (!link) return;
    event.preventDefault();
    link.click();
  });

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted) {
      if (!focusErrorSummary(document)) focusHeading(document);
    }
  });
})();
