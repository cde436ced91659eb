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

  // Row selection: "N selected", select all on the page, actions that need a selection.
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="record_ids"][form="selection"]'));
  }
  function refresh() {
    var all = boxes();
    var n = all.filter(function (b) { return b.checked; }).length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = n + " selected";
    });
    document.querySelectorAll("[data-needs-selection]").forEach(function (el) {
      el.disabled = n === 0;
    });
    var head = document.querySelector("[data-select-all]");
    if (head) {
      head.checked = all.length > 0 && n === all.length;
      head.indeterminate = n > 0 && n < all.length;
    }
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = t.checked; });
    }
    if (t.matches && (t.matches("[data-select-all]") || t.matches('input[name="record_ids"]'))) {
      refresh();
    }
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();

// Destructive forms ask first (data-confirm holds the question).
document.addEventListener("submit", function (e) {
  var form = e.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    e.preventDefault();
  }
});

// Forms marked data-busy disable their buttons while the request is in flight.
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (!e.defaultPrevented && form.hasAttribute && form.hasAttribute("data-busy")) {
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  }
});
