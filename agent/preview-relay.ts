import { imageSize } from "image-size";
import { MAX_PREVIEW_BASE64, type AgentMessage, type LeaseRef } from "../shared/protocol.ts";
import type { ComfyPreview } from "./comfy/preview-frame.ts";

/** At most this many previews a second reach the edge; the rest are dropped (only the latest matters). */
export const PREVIEWS_PER_SECOND = 2;
/** Previews larger than this on their long side are not relayed (ComfyUI's `--preview-size` defaults to 512). */
export const MAX_PREVIEW_SIDE = 512;

/**
 * Relays ComfyUI's live previews of one lease to the edge: throttled, and only images whose
 * header says they are within 512 px (the agent decodes no pixels, so a larger one, from a rig
 * whose ComfyUI runs with a bigger `--preview-size`, is dropped rather than scaled).
 */
export class PreviewRelay {
  readonly #lease: LeaseRef;
  readonly #send: (m: AgentMessage) => boolean;
  readonly #now: () => number;
  #last = -Infinity;
  relayed = 0;
  dropped = 0;

  constructor(lease: LeaseRef, send: (m: AgentMessage) => boolean, now: () => number = Date.now) {
    this.#lease = lease;
    this.#send = send;
    this.#now = now;
  }

  offer(p: ComfyPreview): void {
    const now = this.#now();
    if (now - this.#last < 1000 / PREVIEWS_PER_SECOND || !fits(p.bytes)) {
      this.dropped++;
      return;
    }
    const data = p.bytes.toString("base64");
    if (data.length > MAX_PREVIEW_BASE64) {
      this.dropped++;
      return;
    }
    this.#last = now;
    this.relayed++;
    this.#send({ type: "preview", job_id: this.#lease.job_id, lease_id: this.#lease.lease_id, content_type: p.contentType, data, node_id: p.nodeId });
  }
}

function fits(bytes: Buffer): boolean {
  try {
    const { width, height } = imageSize(bytes);
    return width !== undefined && height !== undefined && Math.max(width, height) <= MAX_PREVIEW_SIDE;
  } catch {
    return false;
  }
}
