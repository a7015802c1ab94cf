// Follows a report's production on its page: asks the portal for the report's status every
// two seconds and updates the page's live region, so a screen reader hears each change,
// until the report is done or has failed. Without this script the page still shows the
// status as it was when loaded, with a link to refresh it.
(function () {
  "use strict";

  var INTERVAL_MS = 2000;
  var region = document.getElementById("report-status");
  var last = region ? region.dataset.status : null;
  if (!region || !region.dataset.statusUrl || region.dataset.finished === "true") {
    return;
  }

  function part(name) {
    return region.querySelector('[data-part="' + name + '"]');
  }

  function show(name, visible) {
    var element = part(name);
    if (element) {
      element.hidden = !visible;
    }
  }

  function update(state) {
    part("words").textContent = state.words;
    part("reason").textContent = state.reason;
    show("reason", Boolean(state.reason));
    part("sha256-value").textContent = state.pdf_sha256;
    show("sha256", Boolean(state.pdf_sha256));
    if (state.download) {
      part("download").querySelector("a").setAttribute("href", state.download);
    }
    show("download", Boolean(state.download));
  }

  function finish() {
    region.dataset.finished = "true";
    var refresh = document.getElementById("report-refresh");
    if (refresh) {
      refresh.hidden = true;
    }
  }

  function giveUp() {
    part("words").textContent =
      "The status could not be read just now (your session may have ended). Reload the page.";
  }

  function poll() {
    fetch(region.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        // Rewriting unchanged text would make some screen readers announce it again.
        if (state.status !== last) {
          last = state.status;
          update(state);
        }
        if (state.finished) {
          finish();
        } else {
          window.setTimeout(poll, INTERVAL_MS);
        }
      })
      .catch(giveUp);
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
