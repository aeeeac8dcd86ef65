/**
 * Playground browser script, part 3: submitting (uploading image inputs first), watching the
 * task on its events WebSocket (polling GET /tasks/{id} if the socket fails), the progress
 * bar, the seed, and the result images with download links.
 */
export const PLAYGROUND_RUN_JS = String.raw`
var POLL_MS = 1000;
var watching = null; // { id, ws, polling, done, timer }

function setupRun() {
  $("job-form").addEventListener("submit", submitJob);
  $("cancel").addEventListener("click", cancelJob);
}

async function submitJob(ev) {
  ev.preventDefault();
  clearErrors();
  if (!apiKey()) { showKeyProblem("Enter your API key first."); $("api-key").focus(); return; }
  var w = catalog.workflow;
  if (!w) return;
  var button = $("submit");
  button.disabled = true;
  try {
    var params = {};
    var names = Object.keys(catalog.fields);
    for (var i = 0; i < names.length; i++) {
      var f = catalog.fields[names[i]];
      var read = readField(f);
      if (read.skip) continue;
      if (read.file) {
        var uploaded = await uploadImage(f, read.file);
        if (uploaded === null) return;
        params[names[i]] = uploaded;
      } else {
        params[names[i]] = read.value;
      }
    }
    var res = await api("POST", "/v1/jobs", { workflow_id: w.id, params: params });
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) showKeyProblem(res.error.message);
      showErrors(res.error);
      return;
    }
    var sub = res.data;
    rememberJob({
      task_id: sub.task_id, workflow_id: w.id, status: "PENDING", seed: sub.seed,
      prompt: typeof params.prompt === "string" ? params.prompt.slice(0, 120) : "", created_at: new Date().toISOString(),
    });
    watch(sub.task_id, sub.events_url, sub.seed);
  } finally {
    button.disabled = false;
  }
}

/** POST /v1/uploads with the raw file; returns the upload_id, or null after showing the error beside the field. */
async function uploadImage(f, file) {
  var name = f.param.name;
  if (IMAGE_TYPES.indexOf(file.type) === -1) {
    setFieldError(name, "Choose a PNG, JPEG, WebP or GIF image (this file is " + (file.type || "of unknown type") + ").");
    return null;
  }
  setStatus("UPLOADING", "Uploading " + file.name + "...");
  var up = await api("POST", "/v1/uploads", file, file.type);
  if (!up.ok) { setFieldError(name, up.error.message); setStatus("", "Upload failed."); f.input.focus(); return null; }
  return up.data.upload_id;
}

function setStatus(status, text) {
  var s = $("task-status");
  s.setAttribute("data-status", status || "");
  s.textContent = text;
}

function resetRun(taskId, seed) {
  setStatus("PENDING", "Submitted; waiting for an agent...");
  $("progress").value = 0;
  $("progress-text").textContent = "";
  $("task-id").textContent = taskId;
  $("seed").textContent = seed === null || seed === undefined ? "-" : String(seed);
  $("task-error").textContent = "";
  $("feed-note").textContent = "";
  $("outputs").replaceChildren();
  $("cancel").hidden = false;
}

function stopWatching() {
  var w = watching;
  watching = null;
  if (!w) return;
  w.done = true;
  clearTimeout(w.timer);
  if (w.ws && w.ws.readyState <= 1) w.ws.close();
}

/** Opens the events feed (events_url carries a signed token, so no header is needed). */
function watch(taskId, eventsUrl, seed) {
  stopWatching();
  resetRun(taskId, seed);
  var w = { id: taskId, ws: null, polling: false, done: false, timer: 0 };
  watching = w;
  var url;
  try {
    url = new URL(eventsUrl, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    w.ws = new WebSocket(url.toString());
  } catch (e) { startPolling(w); return; }
  w.ws.onmessage = function (m) {
    if (watching !== w) return;
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (ev && ev.type === "state" && ev.task) renderTask(w, ev.task);
    else if (ev && ev.type === "progress" && ev.progress) renderProgress(ev.progress);
  };
  w.ws.onclose = function () { if (watching === w && !w.done) startPolling(w); };
}

function startPolling(w, note) {
  if (w.polling || w.done) return;
  w.polling = true;
  $("feed-note").textContent = note || "Live feed unavailable; checking the task every second instead.";
  var tick = async function () {
    if (watching !== w || w.done) return;
    var r = await api("GET", "/tasks/" + encodeURIComponent(w.id));
    if (watching !== w || w.done) return;
    if (r.ok) renderTask(w, r.data);
    else if (r.status === 401 || r.status === 403 || r.status === 404) { w.done = true; $("task-error").textContent = r.error.message; return; }
    if (!w.done) w.timer = setTimeout(tick, POLL_MS);
  };
  tick();
}

var STATUS_TEXT = {
  PENDING: "Queued", PROGRESS: "Running", SUCCESS: "Done", FAILURE: "Failed", CANCELLED: "Cancelled",
};

function renderTask(w, task) {
  var text = STATUS_TEXT[task.status] || task.status;
  if (task.status === "PENDING" && task.queue) {
    text += " (position " + task.queue.position + (task.queue.waiting_for ? ", waiting for " + task.queue.waiting_for : "") + ")";
  }
  setStatus(task.status, text);
  if (task.seed !== null && task.seed !== undefined) $("seed").textContent = String(task.seed);
  if (task.progress) renderProgress(task.progress);
  updateRecent(task.task_id, { status: task.status, seed: task.seed });
  if (!TERMINAL[task.status]) return;
  w.done = true;
  clearTimeout(w.timer);
  $("cancel").hidden = true;
  if (task.status === "SUCCESS") {
    $("progress").value = 100;
    showOutputs(task);
  } else if (task.error) {
    $("task-error").textContent = task.error.message + (task.error.node_type ? " (node " + task.error.node_type + ")" : "");
  }
}

function renderProgress(p) {
  var percent = Math.max(0, Math.min(100, Number(p.percent) || 0));
  // Each node reports its own steps; the bar stays at the furthest point so it never runs backwards.
  var bar = $("progress");
  if (percent > bar.value) bar.value = percent;
  $("progress-text").textContent = (p.step_name ? p.step_name + ": " : "") + p.current + " / " + p.total + " (" + Math.round(percent) + "%)";
}

function showOutputs(task) {
  var box = $("outputs");
  box.replaceChildren();
  var outputs = (task.result && task.result.outputs) || [];
  outputs.forEach(function (o, i) {
    if (!isWebUrl(o.url)) return;
    var fig = el("figure");
    if (o.content_type.indexOf("image/") === 0) {
      fig.append(el("img", { src: o.url, alt: "Output " + (i + 1) + " of task " + task.task_id, class: "result-image" }));
    }
    var cap = el("figcaption");
    var link = el("a", { href: o.url, download: o.filename, class: "download" }, "Download " + o.filename);
    cap.append(link, " (" + Math.round(o.bytes / 1024) + " KiB; link expires " + new Date(o.expires_at).toLocaleString() + ")");
    fig.append(cap);
    box.append(fig);
  });
  if (!outputs.length) box.append(el("p", { class: "hint" }, "The task succeeded but produced no files."));
}

/** Only http(s) links from the edge go into src/href. */
function isWebUrl(u) {
  try { var p = new URL(u, location.href).protocol; return p === "http:" || p === "https:"; } catch (e) { return false; }
}

async function cancelJob() {
  var w = watching;
  if (!w || w.done) return;
  var r = await api("DELETE", "/tasks/" + encodeURIComponent(w.id));
  if (r.ok) renderTask(w, r.data); else $("task-error").textContent = r.error.message;
}

/** Shows a task from the recent list: its current state, then follows it if still running. */
async function showTask(taskId) {
  var r = await api("GET", "/tasks/" + encodeURIComponent(taskId));
  if (!r.ok) {
    stopWatching();
    resetRun(taskId, null);
    $("cancel").hidden = true;
    setStatus("", "Unavailable");
    $("task-error").textContent = r.error.message;
    return;
  }
  stopWatching();
  resetRun(taskId, r.data.seed);
  var w = { id: taskId, ws: null, polling: false, done: false, timer: 0 };
  watching = w;
  renderTask(w, r.data);
  if (!w.done) startPolling(w, "Checking the task every second.");
}
`;
