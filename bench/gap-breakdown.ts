import type { SimStats } from "../sim/server.ts";
import { median, round } from "./stats.ts";

/** Where the time between two executions on one sim went, as medians over the gaps (ms); null when no gap had the next prompt arrive after the end. */
export interface GapBreakdown {
  /** Execution end → the agent's GET /view of its output (it learnt of the end, polled /queue and /history). */
  end_to_view_ms: number | null;
  /** That GET /view → the next POST /prompt reaching the sim (upload to the edge, complete, dispatch, the agent's set-up). */
  view_to_next_prompt_ms: number | null;
  /** POST /prompt received → execution start (time queued inside the sim; prefetch makes it long on purpose). */
  received_to_start_ms: number;
  /** Gaps where the next prompt was already waiting in the sim when the previous one ended. */
  prefetched_share: number;
}

/**
 * Reads one sim's request log and executions after `sinceEpoch` into a per-gap timeline.
 * The sim logs every HTTP request with its arrival time, so the agent's steps show up
 * without touching the agent.
 */
export function gapBreakdown(stats: SimStats, sinceEpoch: number): GapBreakdown {
  const execs = stats.executions.filter((e) => e.started_at >= sinceEpoch).sort((a, b) => a.started_at - b.started_at);
  const views = stats.requests.filter((r) => r.at >= sinceEpoch && /^(\/api)?\/view$/.test(r.path)).map((r) => r.at).sort((a, b) => a - b);
  const prompts = execs.map((e) => e.received_at).sort((a, b) => a - b);
  const endToView: number[] = [];
  const viewToPrompt: number[] = [];
  let prefetched = 0;
  execs.slice(0, -1).forEach((e, i) => {
    const next = execs[i + 1]!;
    if (next.received_at <= e.ended_at) {
      prefetched++;
      return;
    }
    const view = views.find((v) => v >= e.ended_at);
    if (view === undefined) return;
    endToView.push(view - e.ended_at);
    const prompt = prompts.find((p) => p >= view);
    if (prompt !== undefined) viewToPrompt.push(prompt - view);
  });
  const med = (xs: number[]): number | null => (xs.length ? round(median(xs)) : null);
  return {
    end_to_view_ms: med(endToView),
    view_to_next_prompt_ms: med(viewToPrompt),
    received_to_start_ms: med(execs.map((e) => e.started_at - e.received_at)) ?? 0,
    prefetched_share: execs.length > 1 ? round(prefetched / (execs.length - 1), 3) : 0,
  };
}
