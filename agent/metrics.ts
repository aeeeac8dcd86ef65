import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

// Not an ESM import of node:http: its namespace reads the lazy `WebSocket` export, which loads Node's own undici.
const { createServer } = process.getBuiltinModule("node:http");

/** The agent's counters, rendered in Prometheus text format. */
export class Metrics {
  jobsDone = 0;
  jobsReleased = 0;
  readonly jobsFailed = new Map<string, number>();
  busySeconds = 0;
  queueWaitSecondsSum = 0;
  queueWaitCount = 0;
  uploadedBytes = 0;
  inFlight: () => number = () => 0;

  failed(code: string): void {
    this.jobsFailed.set(code, (this.jobsFailed.get(code) ?? 0) + 1);
  }

  queueWait(seconds: number): void {
    this.queueWaitSecondsSum += seconds;
    this.queueWaitCount += 1;
  }

  render(): string {
    const lines = [
      "# HELP comfy_agent_jobs_completed_total Jobs finished and uploaded.",
      "# TYPE comfy_agent_jobs_completed_total counter",
      `comfy_agent_jobs_completed_total ${this.jobsDone}`,
      "# HELP comfy_agent_jobs_failed_total Jobs reported failed, by error code.",
      "# TYPE comfy_agent_jobs_failed_total counter",
      ...[...this.jobsFailed].map(([code, n]) => `comfy_agent_jobs_failed_total{code="${escapeLabel(code)}"} ${n}`),
      "# HELP comfy_agent_jobs_released_total Leases handed back unstarted.",
      "# TYPE comfy_agent_jobs_released_total counter",
      `comfy_agent_jobs_released_total ${this.jobsReleased}`,
      "# HELP comfy_agent_busy_seconds_total Seconds ComfyUI spent executing this agent's prompts.",
      "# TYPE comfy_agent_busy_seconds_total counter",
      `comfy_agent_busy_seconds_total ${round(this.busySeconds)}`,
      "# HELP comfy_agent_queue_wait_seconds Time from lease to execution start.",
      "# TYPE comfy_agent_queue_wait_seconds summary",
      `comfy_agent_queue_wait_seconds_sum ${round(this.queueWaitSecondsSum)}`,
      `comfy_agent_queue_wait_seconds_count ${this.queueWaitCount}`,
      "# HELP comfy_agent_uploaded_bytes_total Output bytes uploaded.",
      "# TYPE comfy_agent_uploaded_bytes_total counter",
      `comfy_agent_uploaded_bytes_total ${this.uploadedBytes}`,
      "# HELP comfy_agent_jobs_in_flight Leases held right now.",
      "# TYPE comfy_agent_jobs_in_flight gauge",
      `comfy_agent_jobs_in_flight ${this.inFlight()}`,
    ];
    return `${lines.join("\n")}\n`;
  }
}

/** Serves `GET /metrics` on 127.0.0.1:`port` (0 picks one). */
export async function serveMetrics(metrics: Metrics, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url === "/")) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(metrics.render());
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found; try /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
