import type { ApiProblem } from "./api.ts";
import { byId } from "./elements.ts";
import { form } from "./form-state.ts";

/** Shows (or with "" clears) a message beside a field; false when there is no such field. */
export function setFieldError(name: string, message: string): boolean {
  const f = form.fields.get(name);
  if (!f) return false;
  f.error.textContent = message;
  if (message) f.input.setAttribute("aria-invalid", "true");
  else f.input.removeAttribute("aria-invalid");
  return true;
}

export function clearErrors(): void {
  for (const name of form.fields.keys()) setFieldError(name, "");
  byId("form-error").textContent = "";
}

/** Puts each `params.<name>` detail beside its field; the rest (and the summary) above the button. */
export function showErrors(error: ApiProblem): void {
  const rest: string[] = [];
  let first: string | null = null;
  for (const d of error.details ?? []) {
    const name = /^params\.([^.]+)/.exec(d.path)?.[1];
    if (name !== undefined && setFieldError(name, d.message)) {
      first ??= name;
      continue;
    }
    rest.push((d.path ? `${d.path}: ` : "") + d.message);
  }
  byId("form-error").textContent = [error.message, ...rest].join(" ");
  if (first !== null) form.fields.get(first)?.input.focus();
}
