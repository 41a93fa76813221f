// Coach review on the session page: a click on the video (or pausing it) puts its moment in the
// comment form; a comment's time link seeks the video there instead of opening the file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var video = document.getElementById("session-video");
  var field = document.getElementById("comment-time");
  if (!video) { return; }
  function take() {
    if (field) { field.value = (Math.round(video.currentTime * 10) / 10).toFixed(1); }
  }
  video.addEventListener("click", take);
  video.addEventListener("pause", take);
  video.addEventListener("seeked", take);
  // Arriving at a comment (e.g. right after adding it): show the video at its moment.
  // (only a comment's own anchor: "#main", from the skip link, is not a moment)
  var hash = window.location.hash;
  var target = hash.indexOf("#comment-") === 0 ? document.getElementById(hash.slice(1)) : null;
  var targetLink = target ? target.querySelector("a.seek[data-seek]") : null;
  if (targetLink) {
    var at = parseFloat(targetLink.getAttribute("data-seek"));
    if (!isNaN(at)) { video.currentTime = at; }
  }
  document.querySelectorAll("a.seek[data-seek]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var t = parseFloat(link.getAttribute("data-seek"));
      if (isNaN(t)) { return; }
      event.preventDefault();
      video.currentTime = t;
      video.scrollIntoView({ behavior: "smooth", block: "center" });
      video.play().catch(function () {});
    });
  });
});
