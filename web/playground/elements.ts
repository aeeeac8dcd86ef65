/**
 * The page's fixed elements by id, each checked against the element type the code expects,
 * so a markup change that breaks the script fails at start-up with the id, not later with undefined.
 */
const KINDS = {
  "api-key": HTMLInputElement,
  "key-form": HTMLFormElement,
  "forget-key": HTMLButtonElement,
  "key-status": HTMLElement,
  workflow: HTMLSelectElement,
  "workflow-description": HTMLElement,
  "job-form": HTMLFormElement,
  fields: HTMLElement,
  "form-error": HTMLElement,
  submit: HTMLButtonElement,
  "task-status": HTMLElement,
  progress: HTMLProgressElement,
  "progress-text": HTMLElement,
  "task-id": HTMLElement,
  seed: HTMLElement,
  "feed-note": HTMLElement,
  "task-error": HTMLElement,
  cancel: HTMLButtonElement,
  outputs: HTMLElement,
  "live-preview": HTMLImageElement,
  "clear-recent": HTMLButtonElement,
  recent: HTMLOListElement,
} as const;

type Kinds = typeof KINDS;
export type ElementId = keyof Kinds;

export function byId<K extends ElementId>(id: K): InstanceType<Kinds[K]> {
  const found = document.getElementById(id);
  const kind: Kinds[K] = KINDS[id];
  if (!(found instanceof kind)) throw new Error(`The playground markup has no <${kind.name}> #${id}.`);
  return found as InstanceType<Kinds[K]>;
}
