// Follows a job live: server-sent events, polling where they fail; reloads when it ends.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var ended = { finished: true, failed: true };
  var done = false;
  function show(job) {
    var status = document.getElementById("job-status");
    status.textContent = job.status;
    status.className = "badge " + job.status;
    document.getElementById("job-stage").textContent = job.stage || "waiting";
    var bar = document.getElementById("job-progress");
    bar.value = job.progress;
    bar.textContent = job.progress + "%";
    if (ended[job.status] && !done) {
      done = true;
      window.location.reload(); // the server renders the result or the error
    }
  }
  function poll() {
    if (done) { return; }
    fetch(box.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) { if (job) { show(job); } })
      .catch(function () {})
      .then(function () { if (!done) { window.setTimeout(poll, 2000); } });
  }
  if (!window.EventSource) { poll(); return; }
  var source = new EventSource(box.dataset.events);
  var opened = false;
  source.addEventListener("open", function () { opened = true; });
  source.addEventListener("job", function (e) {
    var job = JSON.parse(e.data);
    if (ended[job.status]) { source.close(); }
    show(job);
  });
  source.addEventListener("error", function () {
    if (!opened && !done) { source.close(); poll(); } // never connected: poll instead
  });
})();
