// Result page: polls the prediction until it finishes, backing off, then
// swaps in the finished page that the server renders. It also drives the
// heatmap opacity slider.
(function () {
  "use strict";

  var words = {
    starting: "Waiting in the queue…",
    processing: "Analysing the photo…"
  };
  var terminal = { succeeded: true, failed: true, canceled: true };
  var giveUpAfter = 15 * 60 * 1000;

  function bindSlider() {
    var slider = document.getElementById("opacity");
    var heatmap = document.getElementById("heatmap");
    if (!slider || !heatmap) {
      return;
    }
    var apply = function () { heatmap.style.opacity = slider.value / 100; };
    slider.addEventListener("input", apply);
    apply();
  }

  function swapIn() {
    fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("result");
        var current = document.getElementById("result");
        current.replaceWith(fresh);
        bindSlider();
      })
      .catch(function () { window.location.reload(); });
  }

  function poll(api, delay, started) {
    if (Date.now() - started > giveUpAfter) {
      document.getElementById("status-words").textContent =
        "Still not finished. Reload the page to check again.";
      return;
    }

    setTimeout(function () {
      fetch(api, { headers: { Accept: "application/json" } })
        .then(function (res) { return res.json(); })
        .then(function (p) {
          if (terminal[p.status]) {
            swapIn();
            return;
          }
          var el = document.getElementById("status-words");
          if (el && words[p.status]) {
            el.textContent = words[p.status];
          }
          poll(api, Math.min(delay * 1.5, 3000), started);
        })
        .catch(function () { poll(api, Math.min(delay * 2, 5000), started); });
    }, delay);
  }

  var main = document.getElementById("result");
  bindSlider();
  if (main && !terminal[main.dataset.status]) {
    poll(main.dataset.api, 300, Date.now());
  }
})();
