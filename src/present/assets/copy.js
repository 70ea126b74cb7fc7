// The copy buttons of the administrators' pages (served at /assets/copy.js).
// A button marked data-copy="FIELD" is hidden until this runs; it copies the
// read-only field's value and says so in #copy-status. Without JavaScript
// the field is there to select and copy by hand.
(function () {
  "use strict";
  function say(text) {
    var status = document.getElementById("copy-status");
    if (status) {
      status.textContent = text;
    }
  }
  function fallback(field, button) {
    field.focus();
    field.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      done = false;
    }
    say(done ? button.dataset.done : button.dataset.failed);
  }
  function wire(button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(button.dataset.done); },
          function () { fallback(field, button); }
        );
      } else {
        fallback(field, button);
      }
    });
  }
  function start() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      wire(buttons[i]);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
