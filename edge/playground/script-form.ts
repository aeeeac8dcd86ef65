/**
 * Playground browser script, part 2: the workflow picker and the form generated from a
 * workflow's parameter schema (types, limits, choices, LoRAs), reading it back as params,
 * and showing a 400's field errors beside their fields.
 */
export const PLAYGROUND_FORM_JS = String.raw`
var IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
var catalog = { workflow: null, loras: {}, fields: {} };

function resetCatalog(message) {
  var select = $("workflow");
  select.replaceChildren(el("option", { value: "" }, message));
  select.disabled = true;
  $("workflow-description").textContent = "";
  $("fields").replaceChildren();
  $("submit").disabled = true;
  catalog.workflow = null;
  catalog.fields = {};
}

async function loadCatalog() {
  resetCatalog("Loading workflows...");
  var wf = await api("GET", "/workflows");
  if (!wf.ok) {
    resetCatalog("Enter your API key first");
    showKeyProblem(wf.status === 401 || wf.status === 403 ? "That key was refused: " + wf.error.message : wf.error.message);
    return;
  }
  var loras = await api("GET", "/loras");
  catalog.loras = {};
  if (loras.ok && Array.isArray(loras.data)) loras.data.forEach(function (l) { catalog.loras[l.name] = l; });
  var list = (wf.data && wf.data.workflows) || [];
  var select = $("workflow");
  select.replaceChildren(el("option", { value: "" }, "Choose a workflow"));
  list.forEach(function (w) { select.append(el("option", { value: w.id }, w.id)); });
  select.disabled = false;
  var last = readStore(STORE_WORKFLOW, "");
  if (list.some(function (w) { return w.id === last; })) { select.value = last; await loadWorkflow(last); }
}

async function loadWorkflow(id) {
  $("fields").replaceChildren();
  $("submit").disabled = true;
  catalog.workflow = null;
  catalog.fields = {};
  clearErrors();
  if (!id) { $("workflow-description").textContent = ""; return; }
  var res = await api("GET", "/workflows/" + encodeURIComponent(id));
  if ($("workflow").value !== id) return; // the user picked another one meanwhile
  if (!res.ok) { $("form-error").textContent = res.error.message; return; }
  writeStore(STORE_WORKFLOW, id);
  catalog.workflow = res.data;
  $("workflow-description").textContent = res.data.description || "";
  var box = $("fields");
  res.data.parameters.forEach(function (p) {
    var f = buildField(p);
    catalog.fields[p.name] = f;
    box.append(f.wrap);
  });
  $("submit").disabled = false;
}

function isLoraParam(p) {
  return Array.isArray(p.choices) && p.choices.some(function (c) { return typeof c === "string" && catalog.loras[c]; });
}

function limitsText(p) {
  var parts = [];
  if (p.min !== null && p.max !== null) parts.push(p.min + " to " + p.max);
  else if (p.min !== null) parts.push("at least " + p.min);
  else if (p.max !== null) parts.push("at most " + p.max);
  if (p.multiple_of !== null) parts.push("multiple of " + p.multiple_of);
  if (p.max_length !== null) parts.push("up to " + p.max_length + " characters");
  if (p.type === "image") parts.push("PNG, JPEG, WebP or GIF; uploaded when you submit");
  if (p.default !== null && typeof p.default === "string" && p.type !== "string") parts.push("empty = " + p.default);
  else if (p.default !== null && p.default !== "") parts.push("default " + p.default);
  return parts.join(" · ");
}

function buildInput(p) {
  if (Array.isArray(p.choices)) {
    var select = el("select");
    p.choices.forEach(function (c, i) {
      var o = el("option", { value: String(i) }, String(c));
      if (c === p.default) o.selected = true;
      select.append(o);
    });
    return select;
  }
  if (p.type === "boolean") {
    var box = el("input", { type: "checkbox" });
    box.checked = p.default === true;
    return box;
  }
  if (p.type === "image") return el("input", { type: "file", accept: IMAGE_TYPES.join(",") });
  if (p.type === "integer" || p.type === "float") {
    var numeric = typeof p.default === "number" || p.default === null;
    var step = p.multiple_of !== null ? p.multiple_of : p.type === "integer" ? 1 : "any";
    var input = el("input", numeric
      ? { type: "number", min: p.min, max: p.max, step: step, inputmode: p.type === "integer" ? "numeric" : "decimal" }
      : { type: "text", inputmode: "numeric", autocomplete: "off" });
    if (typeof p.default === "number") input.value = String(p.default);
    else if (p.default !== null) input.placeholder = String(p.default);
    return input;
  }
  var long = p.name.indexOf("prompt") !== -1 || (p.max_length || 0) > 200;
  var text = el(long ? "textarea" : "input", long ? { rows: 3 } : { type: "text" });
  if (p.max_length !== null) text.setAttribute("maxlength", String(p.max_length));
  if (typeof p.default === "string") text.value = p.default;
  return text;
}

function buildField(p) {
  var id = "param-" + p.name;
  var input = buildInput(p);
  var isCheck = p.type === "boolean" && !Array.isArray(p.choices);
  var wide = input.tagName === "TEXTAREA" || p.type === "image" || isLoraParam(p);
  var wrap = el("div", { class: "field" + (wide ? " wide" : "") + (isCheck ? " check" : ""), "data-param": p.name });
  input.id = id;
  input.name = p.name;
  if (p.required) input.setAttribute("aria-required", "true");
  var hint = el("p", { id: id + "-hint", class: "hint" }, p.description);
  var limits = limitsText(p);
  if (limits) hint.append(el("span", { class: "limits" }, limits));
  var error = el("p", { id: id + "-error", class: "field-error", "aria-live": "polite" });
  var describedBy = [hint.id, error.id];
  var label = el("label", { for: id });
  if (isCheck) label.append(input);
  label.append(document.createTextNode(p.name.replace(/_/g, " ")));
  if (p.required) label.append(el("span", { class: "req", title: "required" }, " *"));
  wrap.append(label);
  if (!isCheck) wrap.append(input);
  var lora = null;
  if (isLoraParam(p)) {
    lora = el("div", { id: id + "-lora", class: "lora-info" });
    describedBy.push(lora.id);
    var show = function () { renderLoraInfo(lora, p.choices[Number(input.value)]); };
    input.addEventListener("change", show);
    show();
  }
  input.setAttribute("aria-describedby", describedBy.join(" "));
  wrap.append(hint);
  if (lora) wrap.append(lora, loraList(p));
  wrap.append(error);
  input.addEventListener("input", function () { setFieldError(p.name, ""); });
  return { param: p, input: input, error: error, wrap: wrap };
}

/** The selected LoRA's description and trigger words (its prompt prefix/suffix). */
function renderLoraInfo(box, name) {
  box.replaceChildren();
  var l = catalog.loras[name];
  if (!l) return;
  box.append(el("p", null, l.description));
  var triggers = [l.prefix, l.suffix].filter(Boolean);
  if (triggers.length) {
    var p = el("p", null, "Trigger words: ");
    triggers.forEach(function (t, i) { if (i) p.append(", "); p.append(el("code", null, t)); });
    p.append(" (added to your prompt)");
    box.append(p);
  }
}

/** Every LoRA this parameter offers, with its description and trigger words. */
function loraList(p) {
  var details = el("details", { class: "lora-list" });
  details.append(el("summary", null, "Available LoRAs"));
  var dl = el("dl");
  p.choices.forEach(function (name) {
    var l = catalog.loras[name];
    if (!l) return;
    dl.append(el("dt", null, l.name));
    var dd = el("dd", null, l.description);
    var triggers = [l.prefix, l.suffix].filter(Boolean);
    if (triggers.length) dd.append(el("span", { class: "limits" }, "Trigger words: " + triggers.join(", ")));
    dl.append(dd);
  });
  details.append(dl);
  return details;
}

/** Reads one field: {skip:true}, {value}, or {file} for an image still to upload. */
function readField(f) {
  var p = f.param, input = f.input;
  if (Array.isArray(p.choices)) return { value: p.choices[Number(input.value)] };
  if (p.type === "boolean") return { value: input.checked };
  if (p.type === "image") return input.files && input.files[0] ? { file: input.files[0] } : { skip: true };
  var raw = input.value;
  if (p.type === "integer" || p.type === "float") {
    raw = raw.trim();
    if (raw === "") return { skip: true };
    var n = Number(raw);
    return { value: Number.isFinite(n) ? n : raw };
  }
  // An empty text is left out: the server applies the default, or reports a required one.
  return raw === "" ? { skip: true } : { value: raw };
}

function setFieldError(name, message) {
  var f = catalog.fields[name];
  if (!f) return false;
  f.error.textContent = message || "";
  if (message) f.input.setAttribute("aria-invalid", "true"); else f.input.removeAttribute("aria-invalid");
  return true;
}

function clearErrors() {
  Object.keys(catalog.fields).forEach(function (n) { setFieldError(n, ""); });
  $("form-error").textContent = "";
}

/** Puts each "params.<name>" detail beside its field; the rest (and the summary) above the button. */
function showErrors(error) {
  var rest = [];
  var first = null;
  (error.details || []).forEach(function (d) {
    var m = /^params\.([^.]+)/.exec(d.path || "");
    if (m && setFieldError(m[1], d.message)) { first = first || m[1]; return; }
    rest.push((d.path ? d.path + ": " : "") + d.message);
  });
  $("form-error").textContent = [error.message].concat(rest).join(" ");
  if (first) catalog.fields[first].input.focus();
}

function setupForm() {
  $("workflow").addEventListener("change", function (ev) { loadWorkflow(ev.target.value); });
}
`;
