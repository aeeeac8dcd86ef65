import { rm } from "node:fs/promises";
import { basename } from "node:path";
import { sha256OfFile } from "../../install/models/hashing.ts";
import type { Transport } from "../../install/models/transport.ts";
import type { FetchMessage } from "../../shared/protocol.ts";
import { downloadModel, type DownloadResult, type FetchFailure } from "./download.ts";
import { removeDownloadLeftovers } from "./records.ts";
import { fetchSpec } from "./spec.ts";
import { sizeOf, type ModelStore, type Reservation } from "./store.ts";

export type FetchOneContext = {
  transport: Transport;
  token: string | null;
  attempts: number;
  retryDelayMs: number;
  signal: AbortSignal;
  /** `folder/name` of the models held jobs use: never evicted. */
  inUse: () => Iterable<string>;
  /** Bytes on disk so far, and the file's size when known. */
  progress: (bytes: number, total: number | null) => void;
  /** Models were evicted to make room: the edge must hear it before jobs are routed to them. */
  evicted: (keys: string[]) => Promise<void>;
  retrying?: (info: { attempt: number; delayMs: number; message: string }) => void;
};

/**
 * One model into place: refused when its name could leave the models folder or an operator's file
 * of other content sits there; room made first when its size is known (or as soon as the response
 * tells it), `disk_full` when none can be made; downloaded, verified and recorded as fetched. A
 * failure leaves no file or `.part` behind.
 */
export async function fetchModel(store: ModelStore, fetch: FetchMessage, ctx: FetchOneContext): Promise<DownloadResult> {
  const target = store.target(fetch.model);
  if ("problem" in target) return { ok: false, code: "refused", message: target.problem };
  const spec = fetchSpec(fetch);
  if ("problem" in spec) return { ok: false, code: "refused", message: spec.problem };

  const existing = await sizeOf(target.file);
  if (existing === null) store.forget(fetch.model);
  // A file of its own is checked again (the downloader skips it when its sidecar or sha256 vouch for it).
  const mine = existing !== null && store.isFetched(target.key);
  if (existing !== null && !mine) return adoptOperatorFile(target.file, existing, fetch.sha256, ctx.signal);

  let reservation: Reservation | null = null;
  let roomLate: Promise<FetchFailure | null> | null = null;
  const makeRoom = async (bytes: number, onDisk: number): Promise<FetchFailure | null> => {
    const room = await store.makeRoom(target.key, bytes, onDisk, ctx.inUse());
    if (!room.ok) return { code: "disk_full", message: room.message };
    reservation = room.reservation;
    if (room.evicted.length) await ctx.evicted(room.evicted);
    return null;
  };
  if (!mine && fetch.bytes !== null) {
    const noRoom = await makeRoom(fetch.bytes, (await sizeOf(`${target.file}.part`)) ?? 0);
    if (noRoom) return { ok: false, ...noRoom };
  }

  if (!mine) store.begin(fetch.model);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let total: number | null = fetch.bytes;
  try {
    const result = await downloadModel(spec, store.modelsDir, {
      transport: ctx.transport,
      token: ctx.token,
      attempts: ctx.attempts,
      retryDelayMs: ctx.retryDelayMs,
      signal,
      started: (info) => {
        total = info.totalBytes ?? total;
        ctx.progress(info.resumedFrom, total);
        // The size came with the response: make room now, while the bytes arrive.
        if (reservation === null && roomLate === null && !mine && info.totalBytes !== null) {
          roomLate = makeRoom(info.totalBytes, info.resumedFrom).then((noRoom) => {
            if (noRoom) stop.abort();
            return noRoom;
          });
        }
      },
      progressed: (bytes) => {
        (reservation as Reservation | null)?.written(bytes);
        ctx.progress(bytes, total);
      },
      retrying: (info) => ctx.retrying?.({ attempt: info.attempt, delayMs: info.delayMs, message: info.failure.message }),
    });
    // Assigned in the `started` callback, which narrowing does not see.
    const noRoom = await (roomLate as Promise<FetchFailure | null> | null);
    const outcome: DownloadResult = noRoom ? { ok: false, ...noRoom } : result;
    if (!outcome.ok) {
      if (!mine) await discard(store, fetch, target.file);
      return outcome;
    }
    store.complete(fetch.model, outcome.bytes);
    if (reservation === null && !mine) {
      // Its size was never known before it was on disk: the budget is checked now, this file spared.
      const fit = await store.fitBudget(target.key, ctx.inUse());
      if (!fit.ok) {
        await discard(store, fetch, target.file);
        return { ok: false, code: "disk_full", message: fit.message };
      }
      if (fit.evicted.length) await ctx.evicted(fit.evicted);
    }
    return outcome;
  } finally {
    (reservation as Reservation | null)?.release();
  }
}

/** A file this agent did not fetch is the operator's: kept as it is, never replaced. */
async function adoptOperatorFile(file: string, bytes: number, sha256: string | null, signal: AbortSignal): Promise<DownloadResult> {
  if (sha256 !== null && (await sha256OfFile(file, signal)) !== sha256) {
    return { ok: false, code: "refused", message: `${basename(file)} is there already (not fetched by this agent) with other content than the sha256 asked for; it is not replaced` };
  }
  return { ok: true, bytes };
}

/** A new file that may not stay (failed, or no room after all): nothing of it is left. */
async function discard(store: ModelStore, fetch: FetchMessage, file: string): Promise<void> {
  await rm(file, { force: true });
  await removeDownloadLeftovers(file);
  store.forget(fetch.model);
}
