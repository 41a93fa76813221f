// The job page follows its analysis without reloading itself (a reload throws keyboard focus
// to the top and makes a screen reader start the page again). Every 3 s it asks
// GET /api/jobs/{uid} (the session cookie identifies the member), puts the stage in the
// aria-live line and the whole analysis' fraction in the progress bar; when the job is done it
// opens the session, when it failed it shows why in the role=alert line. Without scripts the
// page's <noscript> meta refresh reloads it instead.
"use strict";
(function () {
  var POLL_MS = 3000;
  var FRAME_STAGES = ["pose", "video"];  // the steps that count video frames
  var root = document.getElementById("job");
  if (!root) { return; }
  var uid = root.getAttribute("data-job");
  var stage = document.getElementById("job-stage");
  var count = document.getElementById("job-count");
  var bar = document.getElementById("job-progress");
  var error = document.getElementById("job-error");
  var again = document.getElementById("job-again");

  // Only a change is written: a live region may announce a rewrite of the same words again.
  function say(element, text) {
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  // How far the current step is: frames while the pose model or the video runs, nothing for a
  // step of one or two parts (as the server's page).
  function countText(job) {
    if (!(job.total > 2)) { return ""; }
    if (FRAME_STAGES.indexOf(job.stage) >= 0) { return "Frame " + job.done + " of " + job.total + "."; }
    return job.done + " of " + job.total + " in this step.";
  }

  // Show the job; return whether to keep asking.
  function show(job) {
    if (job.state === "done") {
      if (job.session_id === null || job.session_id === undefined) {
        window.location.reload();  // the page itself links what there is
      } else {
        say(stage, "Finished. Opening the report.");
        bar.value = 1;
        window.location.assign("/sessions/" + encodeURIComponent(job.session_id));
      }
      return false;
    }
    if (job.state === "failed") {
      say(stage, job.stage_text + ".");
      bar.hidden = true;
      count.hidden = true;
      say(error, job.error || "The analysis failed.");
      again.hidden = false;
      return false;
    }
    say(stage, job.stage_text + ".");
    say(count, countText(job));
    bar.value = job.fraction;
    say(bar, Math.round(100 * job.fraction) + " %");
    return true;
  }

  function poll() {
    fetch("/api/jobs/" + encodeURIComponent(uid), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 401 || response.status === 404) {
        window.location.reload();  // logged out or gone: the server's page says so
        return null;
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (job) {
      if (job && show(job)) { window.setTimeout(poll, POLL_MS); }
    }).catch(function () {
      window.setTimeout(poll, POLL_MS);  // the server is busy or restarting: ask again later
    });
  }

  window.setTimeout(poll, POLL_MS);
}());
