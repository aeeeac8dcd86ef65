import type { LoraView, ParamView } from "../../shared/manifest/views.ts";
import { el } from "./dom.ts";
import { form } from "./form-state.ts";

const triggersOf = (l: LoraView): string[] => [l.prefix, l.suffix].filter((t): t is string => Boolean(t));

/** A parameter whose choices are LoRA names gets descriptions and trigger words beside it. */
export function isLoraParam(p: ParamView): boolean {
  return Array.isArray(p.choices) && p.choices.some((c) => typeof c === "string" && form.loras.has(c));
}

/** The selected LoRA's description and trigger words (its prompt prefix/suffix). */
export function renderLoraInfo(box: HTMLElement, name: unknown): void {
  box.replaceChildren();
  const l = typeof name === "string" ? form.loras.get(name) : undefined;
  if (!l) return;
  box.append(el("p", {}, l.description));
  const triggers = triggersOf(l);
  if (!triggers.length) return;
  const p = el("p", {}, "Trigger words: ");
  triggers.forEach((t, i) => {
    if (i) p.append(", ");
    p.append(el("code", {}, t));
  });
  p.append(" (added to your prompt)");
  box.append(p);
}

/** Every LoRA this parameter offers, with its description and trigger words. */
export function loraList(p: ParamView): HTMLDetailsElement {
  const details = el("details", { class: "lora-list" });
  details.append(el("summary", {}, "Available LoRAs"));
  const dl = el("dl");
  for (const name of p.choices ?? []) {
    const l = typeof name === "string" ? form.loras.get(name) : undefined;
    if (!l) continue;
    dl.append(el("dt", {}, l.name));
    const dd = el("dd", {}, l.description);
    const triggers = triggersOf(l);
    if (triggers.length) dd.append(el("span", { class: "limits" }, `Trigger words: ${triggers.join(", ")}`));
    dl.append(dd);
  }
  details.append(dl);
  return details;
}
