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

  // Character count: the server writes the count; this keeps it up to date as the
  // citizen types and tells screen readers once they pause, not at every key.
  function updateCount(group, announce) {
    var field = group.querySelector("textarea");
    var message = group.querySelector(".q-character-count__message");
    if (!field || !message) return;
    var left = Number(group.dataset.maxLength) - field.value.length;
    var text = (left < 0 ? group.dataset.over : group.dataset.remaining).replace("{count}", String(Math.abs(left)));
    message.textContent = text;
    message.classList.toggle("q-character-count__message--over", left < 0);
    if (announce) {
      window.clearTimeout(group.countTimer);
      group.countTimer = window.setTimeout(function () {
        var status = group.querySelector(".q-character-count__status");
        if (status) status.textContent = text;
      }, 1000);
    }
  }

  document.addEventListener("input", function (event) {
    var group = event.target.closest && event.target.closest('[data-module="character-count"]');
    if (group) updateCount(group, true);
  });

  function updateCounts(root) {
    root.querySelectorAll('[data-module="character-count"]').forEach(function (group) { updateCount(group, false); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary(document);
    updateCounts(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    updateCounts(document);
    if (event.detail.boosted) {
      if (!focusErrorSummary(document)) focusHeading(document);
    }
  });
})();
