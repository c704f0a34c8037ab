// Upload page: drag and drop, a size check before sending, and an upload
// through fetch that goes to the result page. Without JavaScript the form
// posts normally and the server redirects.
(function () {
  "use strict";

  var form = document.getElementById("upload");
  var input = document.getElementById("image");
  var drop = document.getElementById("drop");
  var fileName = document.getElementById("file-name");
  var errorBox = document.getElementById("form-error");
  var submit = document.getElementById("submit");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function chosen() {
    var file = input.files && input.files[0];
    fileName.textContent = file ? file.name : "";
    showError("");
    if (file && file.size > maxBytes) {
      showError("This file is larger than the " + form.dataset.maxLabel + " limit.");
    }
  }

  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) {
      e.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function (e) {
      e.preventDefault();
      drop.classList.remove("over");
    });
  });
  drop.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      chosen();
    }
  });
  input.addEventListener("change", chosen);

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = input.files && input.files[0];
    if (!file) {
      showError("Choose a photo first.");
      return;
    }
    if (file.size > maxBytes) {
      showError("This file is larger than the " + form.dataset.maxLabel + " limit.");
      return;
    }

    submit.disabled = true;
    submit.textContent = "Uploading…";
    var body = new FormData(form);
    fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" } })
      .then(function (res) {
        return res.json().then(function (data) { return { ok: res.ok, data: data }; });
      })
      .then(function (r) {
        if (r.ok) {
          window.location.assign(r.data.urls.page);
          return;
        }
        showError(r.data.error ? r.data.error.message : "The upload was refused.");
        submit.disabled = false;
        submit.textContent = "Analyse photo";
      })
      .catch(function () {
        showError("The upload did not reach the server. Check the connection and try again.");
        submit.disabled = false;
        submit.textContent = "Analyse photo";
      });
  });
})();
