import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { z } from "zod";

/** Binary frame types (ComfyUI's `BinaryEventTypes`). */
export const PREVIEW_IMAGE = 1;
export const PREVIEW_IMAGE_WITH_METADATA = 4;
const PNG_FORMAT = 2;

/** What `/features` and the `feature_flags` reply announce. */
export const SERVER_FEATURES = { supports_preview_metadata: true, max_upload_size: 100 * 1024 * 1024 };

const FeatureFlagsMessageSchema = z.object({
  type: z.literal("feature_flags"),
  data: z.object({ supports_preview_metadata: z.boolean().optional() }).loose().optional(),
});

interface Client {
  readonly ws: WebSocket;
  readonly socket: Duplex | null;
  readonly epoch: number;
  previewMetadata: boolean;
  corked: boolean;
}

/**
 * ComfyUI's socket table: one socket per `clientId` (a reconnect replaces the old one, which
 * then hears nothing), JSON events `{type, data}` to one sid or to all, and binary frames.
 */
export class WsHub {
  private readonly clients = new Map<string, Client>();
  /** Bumped by a crash: sockets of a previous "process" must not touch the new table. */
  private epoch = 0;

  get size(): number {
    return this.clients.size;
  }

  /**
   * Registers a new socket; returns its sid (the given clientId, or a fresh uuid hex).
   * `socket` is the upgraded TCP socket: frames sent in one tick are corked into one write.
   */
  attach(ws: WebSocket, clientId: string, socket: Duplex | null = null): string {
    const sid = clientId || randomUUID().replace(/-/g, "");
    const client: Client = { ws, socket, previewMetadata: false, epoch: this.epoch, corked: false };
    this.clients.set(sid, client);
    let first = true;
    ws.on("message", (raw, isBinary) => {
      if (isBinary || !first) return;
      first = false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(raw));
      } catch {
        return;
      }
      const flags = FeatureFlagsMessageSchema.safeParse(parsed);
      if (!flags.success) return;
      client.previewMetadata = flags.data.data?.supports_preview_metadata === true;
      this.send("feature_flags", SERVER_FEATURES, sid);
    });
    // ComfyUI pops the sid when ANY socket of that sid closes, even an older one that a
    // reconnect already replaced; the newer socket then hears nothing. Kept, as it is real.
    ws.on("close", () => {
      if (client.epoch === this.epoch) this.clients.delete(sid);
    });
    ws.on("error", () => undefined);
    return sid;
  }

  /** Whether a message for `sid` (null: everyone) would reach anybody. */
  reaches(sid: string | null): boolean {
    return sid === null ? this.clients.size > 0 : this.clients.has(sid);
  }

  /** ComfyUI's `send_sync(event, data, sid)`: to that sid only, or to all when sid is null. */
  send(type: string, data: unknown, sid: string | null): void {
    if (!this.reaches(sid)) return;
    const text = JSON.stringify({ type, data });
    if (sid !== null) {
      const c = this.clients.get(sid);
      if (c) write(c, text);
      return;
    }
    for (const c of this.clients.values()) write(c, text);
  }

  /** A sampler preview: the legacy frame (type 1, format PNG), or type 4 with metadata for clients that asked. */
  sendPreview(png: Buffer, sid: string | null, metadata: Record<string, unknown>): void {
    if (!this.reaches(sid)) return;
    let legacy: Buffer | undefined;
    let withMeta: Buffer | undefined;
    const frameFor = (c: Client): Buffer => {
      if (!c.previewMetadata) {
        legacy ??= Buffer.concat([u32(PREVIEW_IMAGE), u32(PNG_FORMAT), png]);
        return legacy;
      }
      if (!withMeta) {
        const meta = Buffer.from(JSON.stringify({ ...metadata, image_type: "image/png" }));
        withMeta = Buffer.concat([u32(PREVIEW_IMAGE_WITH_METADATA), u32(meta.length), meta, png]);
      }
      return withMeta;
    };
    if (sid !== null) {
      const c = this.clients.get(sid);
      if (c) write(c, frameFor(c));
      return;
    }
    for (const c of this.clients.values()) write(c, frameFor(c));
  }

  /** An image as SaveImageWebsocket delivers it: always the legacy frame, full size. */
  sendImage(png: Buffer, sid: string | null): void {
    if (!this.reaches(sid)) return;
    const frame = Buffer.concat([u32(PREVIEW_IMAGE), u32(PNG_FORMAT), png]);
    if (sid !== null) {
      const c = this.clients.get(sid);
      if (c) write(c, frame);
    } else for (const c of this.clients.values()) write(c, frame);
  }

  /** Like a dying process: sockets vanish without close frames. */
  dropAll(): void {
    this.epoch++;
    for (const c of this.clients.values()) c.ws.terminate();
    this.clients.clear();
  }
}

/** Sends a frame; frames of the same tick share one syscall (a run sends dozens at once). */
function write(c: Client, data: string | Buffer): void {
  if (c.socket && !c.corked) {
    c.corked = true;
    c.socket.cork();
    process.nextTick(() => {
      c.corked = false;
      c.socket?.uncork();
    });
  }
  c.ws.send(data);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** A `crystools.monitor` message like the Crystools custom node broadcasts: one a client may not know. */
export function monitorSample(): Record<string, unknown> {
  const vramTotal = 24 * 1024 ** 3;
  const vramUsed = Math.round(vramTotal * (0.1 + Math.random() * 0.05));
  return {
    cpu_utilization: Math.round(Math.random() * 300) / 10,
    ram_total: 64 * 1024 ** 3,
    ram_used: 12 * 1024 ** 3,
    ram_used_percent: 18.8,
    hdd_total: 1024 ** 4,
    hdd_used: 400 * 1024 ** 3,
    hdd_used_percent: 39.1,
    device_type: "cuda",
    gpus: [{
      gpu_utilization: Math.round(Math.random() * 1000) / 10,
      gpu_temperature: 45 + Math.round(Math.random() * 20),
      vram_total: vramTotal,
      vram_used: vramUsed,
      vram_used_percent: Math.round((vramUsed / vramTotal) * 1000) / 10,
    }],
  };
}
