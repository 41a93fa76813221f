// The upload form says what it is doing while a clip (up to a few hundred MB, over a phone's
// uplink) is on its way: on submit the button is disabled and reads "Uploading…", and the
// role=status line under it says how much has been sent. The form is sent with XMLHttpRequest
// (for its upload progress events); the browser follows the server's 303 to the job page, which
// is then opened. An error page's message (a file that is not a video, too large) is shown in
// the line, and the button works again. Without scripts the form posts as usual.
"use strict";
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("upload-status");
  var label = button.textContent;
  var SLOW = "this can take a few minutes on mobile data.";
  var sending = false;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "muted";
    status.hidden = false;
  }

  function ready() {
    sending = false;
    button.disabled = false;
    button.textContent = label;
  }

  // The message of an error page (its .error paragraph), or a sentence of our own.
  function problem(xhr) {
    var doc = null;
    try { doc = new DOMParser().parseFromString(xhr.responseText, "text/html"); } catch (e) { /* none */ }
    var found = doc && doc.querySelector("main .error");
    return found && found.textContent.trim() ? found.textContent.trim()
      : "The upload failed (HTTP " + xhr.status + "). Please try again.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }  // a second tap does not start the upload again
    sending = true;
    button.disabled = true;
    button.textContent = "Uploading…";
    say("Uploading… " + SLOW, false);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && e.total > 0) {
        say("Uploading… " + Math.floor(100 * e.loaded / e.total) + " % sent; " + SLOW, false);
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        say("Uploaded. Opening the analysis…", false);
        window.location.assign(xhr.responseURL);  // the job page (or the login page)
        return;
      }
      say(problem(xhr), true);
      ready();
    });
    xhr.addEventListener("error", function () {
      say("The upload was interrupted. Check the connection and try again.", true);
      ready();
    });
    xhr.send(new FormData(form));
  });
}());
