/** What the playground keeps in this browser's localStorage. */
export const STORE = {
  key: "comfy-edge.api-key",
  recent: "comfy-edge.recent-jobs",
  /** When "Clear" was last pressed: the edge's older jobs stay out of the list. */
  recentCleared: "comfy-edge.recent-cleared",
  workflow: "comfy-edge.workflow",
} as const;
export type StoreName = (typeof STORE)[keyof typeof STORE];

/** The stored JSON value, or undefined when absent or unreadable. */
export function readStore(name: StoreName): unknown {
  try {
    const raw = localStorage.getItem(name);
    return raw === null ? undefined : (JSON.parse(raw) as unknown);
  } catch {
    return undefined;
  }
}

/** Stores a value as JSON; null removes it. */
export function writeStore(name: StoreName, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(name);
    else localStorage.setItem(name, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the page still works for this visit.
  }
}

export function storedString(name: StoreName): string {
  const value = readStore(name);
  return typeof value === "string" ? value : "";
}

export const apiKey = (): string => storedString(STORE.key);
