import type { JobError } from "../../shared/protocol.ts";
import { isComfyError } from "./errors.ts";
import {
  ExecutionErrorDataSchema,
  ExecutionInterruptedDataSchema,
  OutputFileRefSchema,
  PromptRejectedSchema,
  type ExecutionErrorData,
  type HistoryEntry,
} from "./schemas.ts";

/** A file an output node wrote, found under `outputs[node_id][key]` in `/history`. */
export type ProducedFile = {
  node_id: string;
  key: string;
  filename: string;
  subfolder: string;
  type: string;
  /** The node said its files are animations (`animated: [true]`, as SaveAnimatedWEBP/PNG do). */
  animated?: boolean;
};

export type RunSuccess = { ok: true; promptId: string; outputs: ProducedFile[]; runMs: number };
export type RunFailure = { ok: false; promptId: string | null; retryable: boolean; error: JobError };
export type RunOutcome = RunSuccess | RunFailure;

/** Why the agent stopped a prompt; becomes the failure when the prompt stops. */
export type StopReason = { code: string; message: string; retryable: boolean };

export function failure(promptId: string | null, retryable: boolean, error: JobError): RunFailure {
  return { ok: false, promptId, retryable, error: { ...error, message: error.message.slice(0, 4096) } };
}

export function stopped(promptId: string | null, reason: StopReason): RunFailure {
  return failure(promptId, reason.retryable, { code: reason.code, message: reason.message });
}

/**
 * Exceptions that say the device is broken, not the graph: PyTorch ≥ 2.8 raises CUDA errors as
 * `torch.AcceleratorError`; older ones as a RuntimeError whose message starts "CUDA error".
 */
export function isDeviceFault(e: Pick<ExecutionErrorData, "exception_type" | "exception_message">): boolean {
  if (e.exception_type === "torch.AcceleratorError") return true;
  return e.exception_type === "RuntimeError" && /^(CUDA error|CUDA driver error|cuDNN error|CUBLAS_STATUS_)/.test(e.exception_message);
}

/**
 * `execution_error` (from the socket or from `/history` messages): the graph's own failure,
 * not retried, unless the device itself failed (`rig_error`: another rig may well run it).
 */
export function executionFailure(promptId: string, e: ExecutionErrorData): RunFailure {
  const where = e.node_type ? `${e.node_type} (node ${e.node_id ?? "?"})` : `node ${e.node_id ?? "?"}`;
  const what = e.exception_type ? `${e.exception_type}: ${e.exception_message}` : e.exception_message || "execution failed";
  const rig = isDeviceFault(e);
  return failure(promptId, rig, {
    code: rig ? "rig_error" : "execution_error",
    message: `${where} failed: ${what}`,
    ...(e.node_id !== undefined ? { node_id: e.node_id.slice(0, 128) } : {}),
    ...(e.node_type !== undefined ? { node_type: e.node_type.slice(0, 256) } : {}),
    ...(e.exception_type ? { exception_type: e.exception_type.slice(0, 256) } : {}),
    details: {
      exception_message: e.exception_message.slice(0, 4096),
      // The last frames say where it broke; the whole traceback can be huge.
      traceback: e.traceback.slice(-20).map((line) => line.slice(0, 1000)),
      executed: e.executed.slice(0, 256),
    },
  });
}

export function externalInterrupt(promptId: string, nodeId?: string, nodeType?: string): RunFailure {
  return failure(promptId, true, {
    code: "interrupted",
    message: `ComfyUI interrupted the prompt${nodeType ? ` at ${nodeType}` : ""}, not at this agent's request`,
    ...(nodeId !== undefined ? { node_id: nodeId } : {}),
    ...(nodeType !== undefined ? { node_type: nodeType } : {}),
  });
}

/** Maps a failed `POST /prompt` (or any ComfyUI call before the prompt ran) to a failure. */
export function submitFailure(e: unknown): RunFailure {
  if (!isComfyError(e)) return failure(null, true, { code: "agent_error", message: `submitting failed: ${String(e)}` });
  if (e.code === "invalid_prompt") {
    const rejected = PromptRejectedSchema.safeParse(e.details);
    const nodeErrors = rejected.success ? rejected.data.node_errors : {};
    const summary = summarizeNodeErrors(nodeErrors);
    return failure(null, false, {
      code: "invalid_prompt",
      message: summary ? `${e.message} ${summary}` : e.message,
      details: e.details,
    });
  }
  if (e.code === "comfyui_unavailable") return failure(null, true, { code: "comfyui_unavailable", message: e.message });
  // A 5xx is ComfyUI's trouble, not the graph's: another try (or rig) may work.
  return failure(null, e.status === undefined || e.status >= 500, { code: "comfyui_error", message: e.message });
}

function summarizeNodeErrors(nodeErrors: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [node, value] of Object.entries(nodeErrors).slice(0, 5)) {
    const errors = (value as { errors?: unknown })?.errors;
    const classType = (value as { class_type?: unknown })?.class_type;
    if (!Array.isArray(errors)) continue;
    for (const err of errors.slice(0, 3)) {
      const msg = (err as { message?: unknown; details?: unknown }) ?? {};
      parts.push(`${typeof classType === "string" ? classType : "node"} ${node}: ${String(msg.message ?? "")}${msg.details ? ` (${String(msg.details)})` : ""}`);
    }
  }
  return parts.join("; ");
}

/** Every file of type `output`, whatever key its node files it under (`images`, `gifs`, `audio`, `video`, ...). */
export function producedFiles(outputs: HistoryEntry["outputs"]): ProducedFile[] {
  const files: ProducedFile[] = [];
  for (const [nodeId, byKey] of Object.entries(outputs)) {
    const animated = Array.isArray(byKey.animated) && byKey.animated.includes(true);
    for (const [key, items] of Object.entries(byKey)) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        const ref = OutputFileRefSchema.safeParse(item);
        if (ref.success && ref.data.type === "output") files.push({ node_id: nodeId, key, ...ref.data, ...(animated ? { animated } : {}) });
      }
    }
  }
  return files;
}

/** The outcome `/history` records, or null while it records none (it never shows running prompts). */
export function outcomeFromHistory(
  promptId: string,
  entry: HistoryEntry,
  runMs: number,
  stop: StopReason | null,
): RunOutcome {
  const status = entry.status;
  const failed = status?.status_str === "error" || (status?.completed === false && status.status_str !== "success");
  if (!failed) return { ok: true, promptId, outputs: producedFiles(entry.outputs), runMs };
  for (const [event, data] of status?.messages ?? []) {
    if (event === "execution_error") {
      const parsed = ExecutionErrorDataSchema.safeParse(data);
      if (parsed.success) return executionFailure(promptId, parsed.data);
    }
    if (event === "execution_interrupted") {
      if (stop) return stopped(promptId, stop);
      const parsed = ExecutionInterruptedDataSchema.safeParse(data);
      return externalInterrupt(promptId, parsed.data?.node_id, parsed.data?.node_type);
    }
  }
  if (stop) return stopped(promptId, stop);
  return failure(promptId, false, { code: "execution_error", message: "ComfyUI recorded the prompt as failed without details" });
}

/**
 * Models the job names that ComfyUI refused as `value_not_in_list` in a 400's node_errors.
 * The edge names models `folder/name` (`loras/add_detail.safetensors`); ComfyUI's error
 * carries the bare value the node received (`add_detail.safetensors`).
 */
export function missingModels(details: unknown, models: readonly string[]): string[] {
  const nodeErrors = (details as { node_errors?: unknown } | null)?.node_errors;
  if (typeof nodeErrors !== "object" || nodeErrors === null || models.length === 0) return [];
  const missing = new Set<string>();
  for (const node of Object.values(nodeErrors)) {
    const errors = (node as { errors?: unknown } | null)?.errors;
    if (!Array.isArray(errors)) continue;
    for (const e of errors as { type?: unknown; extra_info?: { received_value?: unknown } }[]) {
      const value = e?.extra_info?.received_value;
      if (e?.type !== "value_not_in_list" || typeof value !== "string") continue;
      for (const m of models) if (m === value || m.endsWith(`/${value}`)) missing.add(m);
    }
  }
  return [...missing];
}
