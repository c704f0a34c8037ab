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

  // stop ends the polling for good and says why on the page.
  function stop(message, hint) {
    var el = document.getElementById("status-words");
    if (el) {
      el.textContent = message;
    }
    var lead = document.querySelector("#result .lead");
    if (lead) {
      lead.textContent = hint;
    }
    var spinner = document.querySelector("#result .spinner");
    if (spinner) {
      spinner.hidden = true;
    }
  }

  // answer reads a reply as {status, body}; a body that is not JSON is null.
  function answer(res) {
    return res.json().then(
      function (body) { return { status: res.status, body: body }; },
      function () { return { status: res.status, body: null }; });
  }

  function poll(api, delay, started) {
    if (Date.now() - started > giveUpAfter) {
      stop("Still not finished.", "Reload the page to check again.");
      return;
    }

    var again = function (next) { poll(api, next, started); };
    setTimeout(function () {
      fetch(api, { headers: { Accept: "application/json" } })
        .then(answer)
        .then(function (r) {
          var refusal = r.body && r.body.error && r.body.error.message;
          if (r.status === 404) {
            stop(refusal || "This prediction does not exist, or it has expired.",
              "Upload the photo again from the start page.");
            return;
          }
          if (r.status >= 400 && r.status < 500) {
            stop(refusal || "The server refused to show this prediction.",
              "Upload the photo again from the start page.");
            return;
          }
          if (r.status >= 500 || !r.body || !r.body.status) {
            // The server or its queue is briefly away: keep trying.
            again(Math.min(delay * 2, 5000));
            return;
          }
          if (terminal[r.body.status]) {
            swapIn();
            return;
          }
          var el = document.getElementById("status-words");
          if (el && words[r.body.status]) {
            el.textContent = words[r.body.status];
          }
          again(Math.min(delay * 1.5, 3000));
        })
        .catch(function () { again(Math.min(delay * 2, 5000)); });
    }, delay);
  }

  var main = document.getElementById("result");
  bindSlider();
  if (main && !terminal[main.dataset.status]) {
    poll(main.dataset.api, 300, Date.now());
  }
})();
