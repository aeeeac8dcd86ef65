import WebSocket from "ws";
import { TaskEventSchema } from "../shared/api.ts";
import { epochNow } from "./clock.ts";

export interface Seen {
  /** Epoch ms when the frame carrying SUCCESS with output URLs arrived. */
  at: number;
  /** The first frame was already the result: the socket opened after the job ended. */
  late: boolean;
}

/**
 * Opens the task's events feed (`events_url`, a WebSocket carrying TaskEvent JSON) and
 * resolves when a SUCCESS state with output URLs arrives; rejects on another terminal state.
 */
export function watchUntilSuccess(eventsUrl: string, timeoutMs: number): Promise<Seen> {
  const ws = new WebSocket(eventsUrl.replace(/^http/, "ws"), { perMessageDeflate: false });
  let frames = 0;
  return new Promise<Seen>((resolve, reject) => {
    const finish = (fn: () => void): void => {
      clearTimeout(timer);
      ws.removeAllListeners("message");
      ws.terminate();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no SUCCESS on ${eventsUrl} within ${timeoutMs} ms`))), timeoutMs);
    ws.on("error", (e) => finish(() => reject(e)));
    ws.on("message", (data: Buffer) => {
      const at = epochNow();
      frames++;
      const event = TaskEventSchema.parse(JSON.parse(data.toString("utf8")));
      if (event.type !== "state") return;
      const { status, result } = event.task;
      if (status === "SUCCESS" && result && result.outputs.length > 0 && result.outputs.every((o) => o.url)) {
        finish(() => resolve({ at, late: frames === 1 }));
      } else if (status === "FAILURE" || status === "CANCELLED") {
        finish(() => reject(new Error(`task ended ${status}: ${JSON.stringify(event.task.error)}`)));
      }
    });
  });
}
