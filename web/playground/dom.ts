export type AttrValue = string | number | boolean | null | undefined;

/**
 * Makes an element. Attribute values and text are set as data, never parsed as HTML: nothing
 * the edge or the user sends can become markup. `false`, null and undefined leave an attribute out.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, text?: string | number | null): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    e.setAttribute(name, value === true ? "" : String(value));
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** Only http(s) links go into src/href (never javascript: or data:). */
export function isWebUrl(u: string): boolean {
  try {
    const protocol = new URL(u, location.href).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
