// Batch page: polls the batch until it completes, backing off, and keeps
// the progress bar, the counts and the page of images shown current.
(function () {
  "use strict";

  var words = {
    receiving: "Receiving images…",
    processing: "Analysing the images…",
    completed: "Every image is done."
  };

  function setText(el, text) {
    if (el && el.textContent !== String(text)) {
      el.textContent = text;
    }
  }

  // classText reads as the result page does: "Melanoma (mel) 76.0%".
  function classText(c) {
    var pct = c.probability > 0 && c.probability < 0.001 ? "<0.1%" :
      (c.probability * 100).toFixed(1) + "%";
    return (c.name ? c.name + " (" + c.label + ")" : c.label) + " " + pct;
  }

  function row(item) {
    var tr = document.createElement("tr");
    tr.dataset.id = item.id;
    var link = document.createElement("a");
    link.href = "/predictions/" + encodeURIComponent(item.id);
    link.textContent = item.path;
    var name = document.createElement("td");
    name.appendChild(link);
    var status = document.createElement("td");
    status.className = "status " + item.status;
    status.textContent = item.status;
    var note = document.createElement("td");
    note.className = "note";
    note.textContent = item.error ? item.error.message : item.class ? classText(item.class) : "";
    tr.append(name, status, note);
    return tr;
  }

  function show(b) {
    setText(document.getElementById("batch-status"), words[b.status] || b.status);
    setText(document.getElementById("ended"), b.ended);
    setText(document.getElementById("total"), b.total);
    var pct = (b.progress * 100).toFixed(1);
    document.getElementById("progress-bar").style.width = pct + "%";
    Object.keys(b.counts).forEach(function (status) {
      setText(document.querySelector('[data-count="' + status + '"]'), b.counts[status]);
    });
    var body = document.getElementById("items");
    body.replaceChildren.apply(body, (b.items || []).map(row));
  }

  function poll(api, delay) {
    setTimeout(function () {
      fetch(api, { headers: { Accept: "application/json" } })
        .then(function (res) { return res.json(); })
        .then(function (b) {
          show(b);
          if (b.status !== "completed") {
            poll(api, Math.min(delay * 1.5, 5000));
          }
        })
        .catch(function () { poll(api, Math.min(delay * 2, 10000)); });
    }, delay);
  }

  var main = document.getElementById("batch");
  if (main && main.dataset.status !== "completed") {
    poll(main.dataset.api + "?page_size=" + main.dataset.pageSize +
      "&cursor=" + main.dataset.cursor, 1000);
  }
})();
