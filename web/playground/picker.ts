import type { LoraView, WorkflowSummary, WorkflowView } from "../../shared/manifest/views.ts";
import { api, isAuthProblem } from "./api.ts";
import { el } from "./dom.ts";
import { byId } from "./elements.ts";
import { clearErrors } from "./field-errors.ts";
import { buildField } from "./fields.ts";
import { form } from "./form-state.ts";
import { showKeyProblem } from "./key-form.ts";
import { STORE, storedString, writeStore } from "./store.ts";

function clearForm(): void {
  byId("fields").replaceChildren();
  byId("submit").disabled = true;
  form.workflow = null;
  form.fields.clear();
}

/** Empties the picker and the form, showing `message` as the picker's only option. */
export function resetCatalog(message: string): void {
  const select = byId("workflow");
  select.replaceChildren(el("option", { value: "" }, message));
  select.disabled = true;
  byId("workflow-description").textContent = "";
  clearForm();
}

/** Loads the workflows and LoRAs with the stored key; reselects the last workflow used here. */
export async function loadCatalog(): Promise<void> {
  resetCatalog("Loading workflows...");
  const wf = await api<{ workflows: WorkflowSummary[] }>("GET", "/workflows");
  if (!wf.ok) {
    resetCatalog("Enter your API key first");
    showKeyProblem(isAuthProblem(wf.status) ? `That key was refused: ${wf.error.message}` : wf.error.message);
    return;
  }
  const loras = await api<LoraView[]>("GET", "/loras");
  form.loras.clear();
  if (loras.ok && Array.isArray(loras.data)) for (const l of loras.data) form.loras.set(l.name, l);
  const list = wf.data.workflows;
  const select = byId("workflow");
  select.replaceChildren(el("option", { value: "" }, "Choose a workflow"), ...list.map((w) => el("option", { value: w.id }, w.id)));
  select.disabled = false;
  const last = storedString(STORE.workflow);
  if (list.some((w) => w.id === last)) {
    select.value = last;
    await loadWorkflow(last);
  }
}

/** Builds the form for one workflow from its parameter rules. */
export async function loadWorkflow(id: string): Promise<void> {
  clearErrors();
  clearForm();
  if (!id) {
    byId("workflow-description").textContent = "";
    return;
  }
  const res = await api<WorkflowView>("GET", `/workflows/${encodeURIComponent(id)}`);
  if (byId("workflow").value !== id) return; // the user picked another one meanwhile
  if (!res.ok) {
    byId("form-error").textContent = res.error.message;
    return;
  }
  writeStore(STORE.workflow, id);
  form.workflow = res.data;
  byId("workflow-description").textContent = res.data.description;
  for (const p of res.data.parameters) {
    const f = buildField(p);
    form.fields.set(p.name, f);
    byId("fields").append(f.wrap);
  }
  byId("submit").disabled = false;
}

export function setupPicker(): void {
  const select = byId("workflow");
  select.addEventListener("change", () => void loadWorkflow(select.value));
}
