// allot console behaviour that htmx does not cover. No inline script anywhere (CSP);
// htmx runs with allowEval off, so behaviour lives here.
(function () {
  "use strict";
  // After an htmx request that changed something, pages re-read their counts.
  document.addEventListener("htmx:afterRequest", function (e) {
    var verb = e.detail && e.detail.requestConfig && e.detail.requestConfig.verb;
    if (verb && verb !== "get" && e.detail.successful) {
      document.body.dispatchEvent(new CustomEvent("allot:changed", { bubbles: true }));
    }
  });
})();
