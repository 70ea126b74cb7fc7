// The upload form's progress: the file is sent with XMLHttpRequest so the
// bytes sent can be shown in a <progress> element; the server's answer
// then replaces the page (the ingest report it redirects to, or the form
// again with the reason). Without this script the form is a plain
// multipart POST. Texts come from the form's data attributes (the label
// catalogue); nothing is loaded from elsewhere.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  var box = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var status = document.getElementById("upload-status");
  var alert = document.getElementById("upload-alert");
  var button = form.querySelector("button[type=submit]");
  var input = form.querySelector("input[type=file]");

  function say(text) {
    alert.textContent = text;
    alert.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    var limit = Number(form.getAttribute("data-limit"));
    if (!file) {
      return;
    }
    event.preventDefault();
    alert.hidden = true;
    if (limit && file.size > limit) {
      say(form.getAttribute("data-too-large"));
      input.focus();
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    box.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && e.total > 0) {
        var percent = Math.floor((e.loaded * 100) / e.total);
        bar.value = percent;
        status.textContent = form.getAttribute("data-progress").replace("{percent}", String(percent));
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      status.textContent = form.getAttribute("data-processing");
    });
    xhr.addEventListener("load", function () {
      var target = xhr.responseURL;
      if (target && target.split("#")[0] !== form.action.split("#")[0]) {
        // Committed: the server redirected to the ingest report.
        window.location.assign(target);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
      say(form.getAttribute("data-failed"));
    });
    xhr.send(new FormData(form));
  });
})();
