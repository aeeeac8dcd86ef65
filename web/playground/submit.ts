import type { SubmitResponse } from "../../shared/api.ts";
import { api, isAuthProblem } from "./api.ts";
import { byId } from "./elements.ts";
import { clearErrors, setFieldError, showErrors } from "./field-errors.ts";
import { readField } from "./field-values.ts";
import { form, IMAGE_TYPES, type Field } from "./form-state.ts";
import { showKeyProblem } from "./key-form.ts";
import { rememberJob } from "./recent.ts";
import { apiKey } from "./store.ts";
import { setStatus } from "./task-view.ts";
import { watch } from "./watch.ts";

/** POST /v1/uploads with the raw file; the upload_id, or null after showing the error beside the field. */
async function uploadImage(f: Field, file: File): Promise<string | null> {
  const name = f.param.name;
  if (!IMAGE_TYPES.includes(file.type)) {
    setFieldError(name, `Choose a PNG, JPEG, WebP or GIF image (this file is ${file.type || "of unknown type"}).`);
    return null;
  }
  setStatus("UPLOADING", `Uploading ${file.name}...`);
  const up = await api<{ upload_id: string }>("POST", "/v1/uploads", { bytes: file, contentType: file.type });
  if (!up.ok) {
    setFieldError(name, up.error.message);
    setStatus("", "Upload failed.");
    f.input.focus();
    return null;
  }
  return up.data.upload_id;
}

/** The form's values as params, image inputs uploaded first; null when an upload failed. */
async function collectParams(): Promise<Record<string, unknown> | null> {
  const params: Record<string, unknown> = {};
  for (const [name, f] of form.fields) {
    const read = readField(f);
    if (read.kind === "skip") continue;
    if (read.kind === "value") {
      params[name] = read.value;
      continue;
    }
    const uploadId = await uploadImage(f, read.file);
    if (uploadId === null) return null;
    params[name] = uploadId;
  }
  return params;
}

async function submitJob(): Promise<void> {
  clearErrors();
  if (!apiKey()) {
    showKeyProblem("Enter your API key first.");
    byId("api-key").focus();
    return;
  }
  const w = form.workflow;
  if (!w) return;
  const params = await collectParams();
  if (params === null) return;
  const res = await api<SubmitResponse>("POST", "/v1/jobs", { json: { workflow_id: w.id, params, previews: true } });
  if (!res.ok) {
    if (isAuthProblem(res.status)) showKeyProblem(res.error.message);
    showErrors(res.error);
    return;
  }
  const sub = res.data;
  rememberJob({
    task_id: sub.task_id,
    workflow_id: w.id,
    status: "PENDING",
    seed: sub.seed,
    prompt: typeof params.prompt === "string" ? params.prompt.slice(0, 120) : "",
    created_at: new Date().toISOString(),
  });
  watch(sub.task_id, sub.events_url, sub.seed);
}

export function setupSubmit(): void {
  const button = byId("submit");
  byId("job-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    button.disabled = true;
    // Re-enabled whatever happens, so a failed request never leaves the form stuck.
    void submitJob().finally(() => {
      button.disabled = false;
    });
  });
}
