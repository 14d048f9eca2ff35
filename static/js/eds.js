// Sign with EDS: NCALayer signs the document the portal issued, then the
// form posts the signed XML. Without JavaScript the form stays hidden and
// the page explains what to do instead.
//
// Forms opt in with data-eds and say where NCALayer listens
// (data-ncalayer-url), where the document to sign is (data-document-url),
// which key to use (data-key="sign" or "auth") and, for signing, whose key
// (data-iin). Messages are translated in the page: [data-eds-message=...].
(function () {
  "use strict";

  var CLIENT_SCRIPT = document.currentScript && document.currentScript.dataset.client;
  var FAVICON = document.querySelector('link[rel="icon"]').href;
  var SIGN_OIDS = ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.1"]; // emailProtection, individual
  var AUTH_OIDS = ["1.3.6.1.5.5.7.3.2", "1.2.398.3.3.4.1.1"]; // clientAuth, individual
  var clientLoading = null;

  // The NCALayer client is only fetched when someone signs.
  function loadClient() {
    if (window.NCALayerClient) return Promise.resolve();
    if (!clientLoading) {
      clientLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = CLIENT_SCRIPT;
        script.onload = function () { resolve(); };
        script.onerror = function () { clientLoading = null; reject(new Error("client")); };
        document.head.appendChild(script);
      });
    }
    return clientLoading;
  }

  function enhance(root) {
    root.querySelectorAll("[data-eds-no-js]").forEach(function (el) { el.hidden = true; });
    root.querySelectorAll("form[data-eds]").forEach(function (form) { form.hidden = false; });
  }

  function say(form, name, detail) {
    var status = form.querySelector("[data-eds-status]");
    var template = form.querySelector('[data-eds-message="' + name + '"]');
    if (!status || !template) return;
    status.textContent = template.textContent + (detail ? " " + detail : "");
    status.className = "q-eds__status" + (template.dataset.kind === "error" ? " q-eds__status--error" : "");
    if (template.dataset.kind === "error") {
      status.setAttribute("tabindex", "-1");
      status.focus();
    }
  }

  function busy(form, on) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = on;
      button.setAttribute("aria-disabled", on ? "true" : "false");
    }
  }

  async function sign(form) {
    var client;
    say(form, "connecting");
    try {
      await loadClient();
      client = new window.NCALayerClient(form.dataset.ncalayerUrl, false);
      // On connect the client probes KAZTOKEN's HTTP API on 127.0.0.1:24680
      // even when told not to use it; aim the probe at a file of ours so it
      // neither breaks the Content-Security-Policy nor logs a refused connection.
      client.kmdHttpApiUrl = FAVICON;
      await client.connect();
    } catch (error) {
      say(form, "not-running");
      return null;
    }
    try {
      var response = await fetch(form.dataset.documentUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      var xml = await response.text();
      say(form, form.dataset.key === "auth" ? "choose-auth-key" : "choose-sign-key");
      var signer = { extKeyUsageOids: form.dataset.key === "auth" ? AUTH_OIDS : SIGN_OIDS, chain: [] };
      if (form.dataset.iin) signer.iin = form.dataset.iin;
      var result = await client.basicsSignXML(null, xml, {}, signer, form.dataset.locale || "ru");
      return Array.isArray(result) ? result[0] : result;
    } catch (error) {
      var cancelled = error && (error.canceledByUser || /action\.canceled/.test(error.message || ""));
      say(form, cancelled ? "cancelled" : "failed");
      return null;
    } finally {
      if (client && client.wsConnection) client.wsConnection.close();
    }
  }

  document.addEventListener("submit", async function (event) {
    var form = event.target.closest("form[data-eds]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.signing === "yes") return;
    form.dataset.signing = "yes";
    busy(form, true);
    var signed = await sign(form);
    if (signed) {
      form.querySelector('[name="signed_xml"]').value = signed;
      say(form, "sending");
      form.submit(); // a native post: the answer is a new page
      return;
    }
    delete form.dataset.signing;
    busy(form, false);
  });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.detail.elt); });
})();
