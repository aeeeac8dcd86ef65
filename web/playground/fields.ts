import type { ParamView } from "../../shared/manifest/views.ts";
import { el } from "./dom.ts";
import { setFieldError } from "./field-errors.ts";
import { IMAGE_TYPES, type Field, type FieldInput } from "./form-state.ts";
import { isLoraParam, loraList, renderLoraInfo } from "./lora.ts";

/** The rules of a parameter in words: range, step, length, file types, default. */
export function limitsText(p: ParamView): string {
  const parts: string[] = [];
  if (p.min !== null && p.max !== null) parts.push(`${p.min} to ${p.max}`);
  else if (p.min !== null) parts.push(`at least ${p.min}`);
  else if (p.max !== null) parts.push(`at most ${p.max}`);
  if (p.multiple_of !== null) parts.push(`multiple of ${p.multiple_of}`);
  if (p.max_length !== null) parts.push(`up to ${p.max_length} characters`);
  if (p.type === "image") parts.push("PNG, JPEG, WebP or GIF; uploaded when you submit");
  // A string default on a number (seed's "random") means "leave it empty for this".
  if (typeof p.default === "string" && p.type !== "string") parts.push(`empty = ${p.default}`);
  else if (p.default !== null && p.default !== "") parts.push(`default ${p.default}`);
  return parts.join(" · ");
}

function numberInput(p: ParamView): HTMLInputElement {
  const numeric = typeof p.default === "number" || p.default === null;
  const step = p.multiple_of ?? (p.type === "integer" ? 1 : "any");
  const input = el(
    "input",
    numeric
      ? { type: "number", min: p.min, max: p.max, step, inputmode: p.type === "integer" ? "numeric" : "decimal" }
      : { type: "text", inputmode: "numeric", autocomplete: "off" },
  );
  if (typeof p.default === "number") input.value = String(p.default);
  else if (p.default !== null) input.placeholder = String(p.default);
  return input;
}

function textInput(p: ParamView): HTMLInputElement | HTMLTextAreaElement {
  const long = p.name.includes("prompt") || (p.max_length ?? 0) > 200;
  const text = long ? el("textarea", { rows: 3 }) : el("input", { type: "text" });
  if (p.max_length !== null) text.setAttribute("maxlength", String(p.max_length));
  if (typeof p.default === "string") text.value = p.default;
  return text;
}

/** The control for a parameter: a select for choices (by index), checkbox, file picker, number or text. */
export function buildInput(p: ParamView): FieldInput {
  if (p.choices !== null) {
    const select = el("select");
    p.choices.forEach((c, i) => {
      const option = el("option", { value: String(i) }, String(c));
      if (c === p.default) option.selected = true;
      select.append(option);
    });
    return select;
  }
  if (p.type === "boolean") {
    const box = el("input", { type: "checkbox" });
    box.checked = p.default === true;
    return box;
  }
  if (p.type === "image") return el("input", { type: "file", accept: IMAGE_TYPES.join(",") });
  if (p.type === "integer" || p.type === "float") return numberInput(p);
  return textInput(p);
}

/** One field: label, control, hint with the limits, LoRA details, and a slot for its error. */
export function buildField(p: ParamView): Field {
  const id = `param-${p.name}`;
  const input = buildInput(p);
  const isCheck = p.type === "boolean" && p.choices === null;
  const lora = isLoraParam(p);
  const wide = input instanceof HTMLTextAreaElement || p.type === "image" || lora;
  const wrap = el("div", { class: `field${wide ? " wide" : ""}${isCheck ? " check" : ""}`, "data-param": p.name });
  input.id = id;
  input.name = p.name;
  if (p.required) input.setAttribute("aria-required", "true");
  const hint = el("p", { id: `${id}-hint`, class: "hint" }, p.description);
  const limits = limitsText(p);
  if (limits) hint.append(el("span", { class: "limits" }, limits));
  const error = el("p", { id: `${id}-error`, class: "field-error", "aria-live": "polite" });
  const describedBy = [hint.id, error.id];
  const label = el("label", { for: id });
  if (isCheck) label.append(input);
  label.append(document.createTextNode(p.name.replace(/_/g, " ")));
  if (p.required) label.append(el("span", { class: "req", title: "required" }, " *"));
  wrap.append(label);
  if (!isCheck) wrap.append(input);
  wrap.append(hint);
  if (lora) {
    const info = el("div", { id: `${id}-lora`, class: "lora-info" });
    describedBy.push(info.id);
    const show = () => renderLoraInfo(info, p.choices?.[Number(input.value)]);
    input.addEventListener("change", show);
    show();
    wrap.append(info, loraList(p));
  }
  input.setAttribute("aria-describedby", describedBy.join(" "));
  wrap.append(error);
  input.addEventListener("input", () => setFieldError(p.name, ""));
  return { param: p, input, error, wrap };
}
