/**
 * Playground browser script, part 1: DOM and storage helpers, the API client, the key form
 * and the recent-jobs list. Plain ES2020 in a string (no template literals inside, so the
 * host template needs no escaping); the three parts share one function scope in page.ts.
 */
export const PLAYGROUND_CORE_JS = String.raw`
var STORE_KEY = "comfy-edge.api-key";
var STORE_RECENT = "comfy-edge.recent-jobs";
var STORE_WORKFLOW = "comfy-edge.workflow";
var RECENT_MAX = 20;
var TERMINAL = { SUCCESS: true, FAILURE: true, CANCELLED: true };

function $(id) { return document.getElementById(id); }

/** Makes an element; attribute values and text are set as data, never parsed as HTML. */
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    e.setAttribute(k, v === true ? "" : String(v));
  });
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function readStore(name, fallback) {
  try {
    var raw = localStorage.getItem(name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (e) { return fallback; }
}
function writeStore(name, value) {
  try {
    if (value === null) localStorage.removeItem(name); else localStorage.setItem(name, JSON.stringify(value));
  } catch (e) { /* private mode or full storage: the page still works for this visit */ }
}

function apiKey() { var k = readStore(STORE_KEY, ""); return typeof k === "string" ? k : ""; }

/** Calls the edge with the key; resolves {ok, status, data} or {ok:false, status, error:{code,message,details}}. */
async function api(method, path, body, contentType) {
  var headers = { authorization: "Bearer " + apiKey() };
  var payload;
  if (body !== undefined) {
    headers["content-type"] = contentType || "application/json";
    payload = contentType ? body : JSON.stringify(body);
  }
  var res;
  try {
    res = await fetch(path, { method: method, headers: headers, body: payload });
  } catch (e) {
    return { ok: false, status: 0, error: { code: "network", message: "Could not reach the edge (" + (e && e.message ? e.message : e) + ")." } };
  }
  var data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.ok) return { ok: true, status: res.status, data: data };
  var error = data && data.error && typeof data.error.message === "string"
    ? data.error
    : { code: "http_" + res.status, message: "The edge answered HTTP " + res.status + "." };
  return { ok: false, status: res.status, error: error };
}

function showKeyProblem(text) { $("key-status").textContent = text || ""; }

function setupKeyForm() {
  var input = $("api-key");
  input.value = apiKey();
  $("key-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = input.value.trim();
    if (!key) { showKeyProblem("Enter an API key."); input.focus(); return; }
    writeStore(STORE_KEY, key);
    showKeyProblem("");
    loadCatalog();
  });
  $("forget-key").addEventListener("click", function () {
    writeStore(STORE_KEY, null);
    input.value = "";
    showKeyProblem("");
    resetCatalog("Enter your API key first");
    input.focus();
  });
}

/** Recent jobs: newest first, at most RECENT_MAX, kept in localStorage. */
function recentJobs() {
  var list = readStore(STORE_RECENT, []);
  return Array.isArray(list) ? list.filter(function (j) { return j && typeof j.task_id === "string"; }) : [];
}

function rememberJob(entry) {
  var list = recentJobs().filter(function (j) { return j.task_id !== entry.task_id; });
  list.unshift(entry);
  writeStore(STORE_RECENT, list.slice(0, RECENT_MAX));
  renderRecent();
}

function updateRecent(taskId, changes) {
  var list = recentJobs();
  var hit = false;
  list.forEach(function (j) {
    if (j.task_id !== taskId) return;
    Object.keys(changes).forEach(function (k) { if (j[k] !== changes[k]) { j[k] = changes[k]; hit = true; } });
  });
  if (!hit) return;
  writeStore(STORE_RECENT, list);
  renderRecent();
}

function renderRecent() {
  var ol = $("recent");
  ol.replaceChildren();
  recentJobs().forEach(function (j) {
    var li = el("li", { "data-task-id": j.task_id, "data-status": j.status || "" });
    li.append(el("code", null, j.task_id));
    li.append(el("span", { class: "status", "data-status": j.status || "" }, j.status || "PENDING"));
    var when = j.created_at ? new Date(j.created_at).toLocaleString() : "";
    li.append(el("span", { class: "what", title: j.prompt || "" }, [j.workflow_id, when, j.prompt].filter(Boolean).join(" · ")));
    var open = el("button", { type: "button", "aria-label": "Show task " + j.task_id }, "Show");
    open.addEventListener("click", function () { showTask(j.task_id); });
    li.append(open);
    ol.append(li);
  });
}

function setupRecent() {
  $("clear-recent").addEventListener("click", function () { writeStore(STORE_RECENT, null); renderRecent(); });
  renderRecent();
}

function init() {
  setupKeyForm();
  setupRecent();
  setupForm();
  setupRun();
  if (!apiKey()) return;
  loadCatalog();
  // Pick up where this browser left off: the newest job, with fresh download links.
  var last = recentJobs()[0];
  if (last) showTask(last.task_id);
}
`;
