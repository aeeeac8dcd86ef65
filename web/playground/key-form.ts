import { byId } from "./elements.ts";
import { apiKey, STORE, writeStore } from "./store.ts";

export function showKeyProblem(text = ""): void {
  byId("key-status").textContent = text;
}

export interface KeyFormHandlers {
  /** A key was entered and stored. */
  onKey(): void;
  /** The stored key was removed. */
  onForget(): void;
}

/** The key form: the key lives in localStorage only and is sent as `Authorization: Bearer`. */
export function setupKeyForm(handlers: KeyFormHandlers): void {
  const input = byId("api-key");
  input.value = apiKey();
  byId("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      showKeyProblem("Enter an API key.");
      input.focus();
      return;
    }
    writeStore(STORE.key, key);
    showKeyProblem();
    handlers.onKey();
  });
  byId("forget-key").addEventListener("click", () => {
    writeStore(STORE.key, null);
    input.value = "";
    showKeyProblem();
    handlers.onForget();
    input.focus();
  });
}
