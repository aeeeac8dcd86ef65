import type { AgentMessage, LeaseRef } from "../shared/protocol.ts";

/** The messages that end a lease; each must reach the edge once. */
export type FinalMessage = Extract<AgentMessage, { type: "complete" | "fail" | "release" }>;

/**
 * Final messages the edge has not acknowledged yet. A socket can drop right after a send,
 * so they go again after every reconnect until an `ack` names them, or until the lease
 * would have expired anyway (the edge then refuses them, and keeping them is pointless).
 */
export class Outbox {
  readonly #pending = new Map<string, { message: FinalMessage; at: number }>();
  #ttlMs = 60_000;

  get size(): number {
    return this.#pending.size;
  }

  has(leaseId: string): boolean {
    return this.#pending.has(leaseId);
  }

  add(message: FinalMessage): void {
    this.#pending.set(message.lease_id, { message, at: Date.now() });
  }

  ack(ref: LeaseRef): void {
    if (this.#pending.get(ref.lease_id)?.message.job_id === ref.job_id) this.#pending.delete(ref.lease_id);
  }

  /** What to send again on a new connection, whose welcome sets the lease TTL. */
  resend(leaseTtlMs: number): FinalMessage[] {
    this.#ttlMs = leaseTtlMs;
    this.prune();
    return [...this.#pending.values()].map((p) => p.message);
  }

  prune(): void {
    const cutoff = Date.now() - this.#ttlMs;
    for (const [lease, { at }] of this.#pending) if (at < cutoff) this.#pending.delete(lease);
  }

  clear(): void {
    this.#pending.clear();
  }
}
