import Table from "cli-table3";
import type { WorkflowListing } from "../../../shared/api.ts";
import type { LoraView } from "../../../shared/manifest/views.ts";
import type { Colors } from "./theme.ts";

/** The words a LoRA adds to the prompt: its prefix before, its suffix after. */
export function triggerWords(lora: LoraView): string {
  return [lora.prefix ? `${lora.prefix}, …` : null, lora.suffix ? `…, ${lora.suffix}` : null].filter(Boolean).join("  ") || "-";
}

function widths(columns: number, fixed: number[], flexible: number): number[] {
  const rest = Math.max(20, columns - fixed.reduce((a, b) => a + b, 0) - (fixed.length + 2));
  return [...fixed, Math.min(flexible, rest)];
}

/** The workflows, what each requires, and how many connected agents can run it now (0 in yellow: jobs would wait). */
export function workflowTable(workflows: WorkflowListing[], c: Colors, columns: number): string {
  const idWidth = Math.max(10, ...workflows.map((w) => w.id.length)) + 2;
  const reqWidth = Math.max(10, ...workflows.map((w) => w.required.join(", ").length)) + 2;
  const [a, b, r, d] = widths(columns, [idWidth, reqWidth, 8], 70);
  const table = new Table({ head: [c.bold("Workflow"), c.bold("Required"), c.bold("Agents"), c.bold("Description")], colWidths: [a!, b!, r!, d!], wordWrap: true, style: { head: [], border: [] } });
  for (const w of workflows) table.push([c.cyan(w.id), w.required.join(", ") || "-", w.agents_ready > 0 ? String(w.agents_ready) : c.yellow("0"), w.description]);
  return table.toString();
}

export function loraTable(loras: LoraView[], c: Colors, columns: number): string {
  const nameWidth = Math.min(40, Math.max(10, ...loras.map((l) => l.name.length)) + 2);
  const trigWidth = Math.min(30, Math.max(10, ...loras.map((l) => triggerWords(l).length)) + 2);
  const [a, b, d] = widths(columns, [nameWidth, trigWidth], 70);
  const table = new Table({ head: [c.bold("LoRA"), c.bold("Trigger words"), c.bold("Description")], colWidths: [a!, b!, d!], wordWrap: true, style: { head: [], border: [] } });
  for (const l of loras) table.push([c.magenta(l.name), triggerWords(l), l.description]);
  return table.toString();
}
