import { DownloadError } from "./errors.ts";
import { isHuggingFaceHost } from "../../shared/model-catalog/hosts.ts";

/** The error for a status that is not a usable answer, with what to do about it. */
export function statusError(status: number, url: URL, sentToken: boolean, hadToken: boolean): DownloadError {
  const where = url.host;
  const hub = isHuggingFaceHost(url.hostname);
  if (status === 401) {
    const fix = !hub
      ? "the host wants credentials this installer does not send"
      : hadToken
        ? "HUGGINGFACE_TOKEN was rejected: check it, and that it may read this repo"
        : "the repo is gated or private: set HUGGINGFACE_TOKEN (environment or .env) and accept the model's terms on its page";
    return new DownloadError("unauthorized", `401 from ${where}: ${fix}`, false);
  }
  if (status === 403) {
    const fix = hub && sentToken ? "accept the model's terms on its Hugging Face page with this token's account" : "access denied";
    return new DownloadError("forbidden", `403 from ${where}: ${fix}`, false);
  }
  if (status === 404 || status === 410) return new DownloadError("not_found", `${status} from ${where}: check the URL, the file path and the revision`, false);
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  return new DownloadError("http_error", `HTTP ${status} from ${where}`, retryable);
}

/** `bytes 100-199/1000` → { start: 100, total: 1000 }; the unsatisfied form (star/1000) → { start: null, total: 1000 }. */
export function parseContentRange(value: string | null): { start: number | null; total: number | null } | null {
  if (value === null) return null;
  const match = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return null;
  return {
    start: match[1] === undefined ? null : Number(match[1]),
    total: match[2] === undefined || match[2] === "*" ? null : Number(match[2]),
  };
}

export function parseLength(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value);
}
