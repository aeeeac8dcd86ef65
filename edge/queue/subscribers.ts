import type { TaskEvent } from "../../shared/api.ts";
import type { QueueCore } from "./core.ts";
import type { Job } from "./types.ts";
import { TERMINAL_STATES } from "./types.ts";
import { progressView, taskView } from "./views.ts";

const encoder = new TextEncoder();
const SSE_KEEPALIVE_MS = 15_000;

/**
 * Watchers of one task: hibernatable WebSockets tagged `task:<id>` and, for SSE, open
 * streams held in memory (an SSE response cannot hibernate; its client reconnects).
 */
export class Subscribers {
  private readonly sse = new Map<string, Set<WritableStreamDefaultWriter<Uint8Array>>>();
  private readonly q: QueueCore;

  constructor(q: QueueCore) {
    this.q = q;
  }

  sockets(taskId: string): WebSocket[] {
    return this.q.state.getWebSockets(`task:${taskId}`);
  }

  has(taskId: string): boolean {
    return this.sockets(taskId).length > 0 || (this.sse.get(taskId)?.size ?? 0) > 0;
  }

  async stateEvent(job: Job): Promise<TaskEvent> {
    const queue = job.state === "queued" ? { position: this.q.store.positionOf(job), waiting_for: null } : null;
    return { type: "state", task: await taskView(job, this.q.config, queue, this.q.now()) };
  }

  /** Sends an event to every watcher of the task; a terminal state closes them normally. */
  publish(taskId: string, event: TaskEvent, terminal: boolean): void {
    const text = JSON.stringify(event);
    for (const ws of this.sockets(taskId)) {
      try {
        ws.send(text);
        if (terminal) ws.close(1000, "task finished");
      } catch {
        // The watcher left; nothing to do.
      }
    }
    const writers = this.sse.get(taskId);
    if (!writers) return;
    const frame = encoder.encode(`event: ${event.type}\ndata: ${text}\n\n`);
    for (const w of writers) {
      w.write(frame).catch(() => writers.delete(w));
      if (terminal) w.close().catch(() => undefined);
    }
    if (terminal) this.sse.delete(taskId);
  }

  async publishState(job: Job): Promise<void> {
    if (!this.has(job.id)) return;
    this.publish(job.id, await this.stateEvent(job), TERMINAL_STATES.includes(job.state));
  }

  publishProgress(job: Job): void {
    if (!job.progress || !this.has(job.id)) return;
    this.publish(job.id, { type: "progress", task_id: job.id, progress: progressView(job.progress) }, false);
  }

  /** Opens an SSE stream: the current state first, then every change, ending after a terminal state. */
  async openSse(job: Job): Promise<Response> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const first = await this.stateEvent(job);
    const terminal = TERMINAL_STATES.includes(job.state);
    writer.write(encoder.encode(`retry: 1000\nevent: state\ndata: ${JSON.stringify(first)}\n\n`)).catch(() => undefined);
    if (terminal) writer.close().catch(() => undefined);
    else {
      let set = this.sse.get(job.id);
      if (!set) this.sse.set(job.id, (set = new Set()));
      set.add(writer);
      // A comment line now and then keeps proxies from closing an idle stream, and shows us a gone client.
      const keepAlive = setInterval(() => {
        writer.write(encoder.encode(": keep-alive\n\n")).catch(() => {
          set.delete(writer);
          clearInterval(keepAlive);
        });
      }, SSE_KEEPALIVE_MS);
      writer.closed.catch(() => undefined).finally(() => {
        clearInterval(keepAlive);
        set.delete(writer);
      });
    }
    return new Response(readable, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" },
    });
  }

  /** Accepts a WebSocket watcher and sends the current state first (a late subscriber still sees it). */
  async openSocket(job: Job): Promise<Response> {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.q.state.acceptWebSocket(server, [`task:${job.id}`]);
    server.serializeAttachment({ kind: "events", task_id: job.id });
    server.send(JSON.stringify(await this.stateEvent(job)));
    if (TERMINAL_STATES.includes(job.state)) server.close(1000, "task finished");
    return new Response(null, { status: 101, webSocket: client });
  }
}
