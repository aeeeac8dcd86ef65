import type { LoraView, ParamView, WorkflowView } from "../../shared/manifest/views.ts";

export type FieldInput = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** One generated form field: the parameter it edits, its control, and where its error goes. */
export interface Field {
  param: ParamView;
  input: FieldInput;
  error: HTMLElement;
  wrap: HTMLElement;
}

/** The chosen workflow, its fields by parameter name, and the LoRAs by name (for descriptions). */
export const form = {
  workflow: null as WorkflowView | null,
  fields: new Map<string, Field>(),
  loras: new Map<string, LoraView>(),
};

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
