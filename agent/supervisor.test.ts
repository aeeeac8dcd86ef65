import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { CLIError } from "./cli-error.ts";
import { ComfySupervisor } from "./supervisor.ts";
import { until } from "./testing/until.ts";

/** A stand-in ComfyUI main.py: serves /system_stats and starts a grandchild, as real custom nodes may. */
const FAKE_MAIN = `
import http.server, json, os, subprocess, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
here = os.path.dirname(os.path.abspath(__file__))
grandchild = subprocess.Popen(["sleep", "600"])
with open(os.path.join(here, "pids"), "a") as f:
    f.write(f"{os.getpid()} {grandchild.pid}\\n")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"system": {"argv": sys.argv}, "devices": [{"name": "fake:" + os.environ.get("CUDA_VISIBLE_DEVICES", "none"), "vram_total": 8 << 30}]}).encode()
        self.send_response(200 if self.path == "/system_stats" else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
`;

const dirs: string[] = [];
const supervisors: ComfySupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop(1_000)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function fakeComfy(script = FAKE_MAIN): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fake-comfy-"));
  dirs.push(dir);
  await writeFile(join(dir, "main.py"), script);
  return dir;
}

async function pids(dir: string): Promise<{ main: number; grandchild: number }[]> {
  const text = await readFile(join(dir, "pids"), "utf8").catch(() => "");
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const [main, grandchild] = l.split(" ").map(Number);
    return { main: main as number, grandchild: grandchild as number };
  });
}

/** Alive and not a zombie (a container's init may be slow to reap). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const log = pino({ level: "silent" });

describe("ComfySupervisor", () => {
  test("starts ComfyUI on a free port with the GPU pinned, and waits until it answers", async () => {
    const dir = await fakeComfy();
    const sup = await ComfySupervisor.start({ dir, python: "python3", gpu: "3", log });
    supervisors.push(sup);
    const stats = (await (await fetch(`${sup.url}/system_stats`)).json()) as { system: { argv: string[] }; devices: { name: string }[] };
    expect(stats.devices[0]?.name).toBe("fake:3");
    expect(stats.system.argv).toEqual(["main.py", "--listen", "127.0.0.1", "--port", String(sup.port)]);
    expect(sup.isUp).toBe(true);
  });

  test("restarts ComfyUI when it dies and reports the loss", async () => {
    const dir = await fakeComfy();
    const downs: (number | null)[] = [];
    let ups = 0;
    const sup = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log, restartMinMs: 10, onDown: (e) => downs.push(e.code), onUp: () => (ups += 1) });
    supervisors.push(sup);
    const first = sup.pid;
    process.kill(first as number, "SIGKILL");
    await until("a restarted ComfyUI", () => ups === 1);
    expect(sup.pid).not.toBe(first);
    expect(sup.restarts).toBe(1);
    expect(downs).toHaveLength(1);
    await sup.ready();
    expect((await fetch(`${sup.url}/system_stats`)).status).toBe(200);
    // The dead one's grandchild went with its process group.
    const [gen1] = await pids(dir);
    await until("the first grandchild gone", () => !alive(gen1?.grandchild as number));
  });

  test("stop kills the whole process group, grandchildren included", async () => {
    const dir = await fakeComfy();
    const sup = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log });
    const [{ main, grandchild }] = (await pids(dir)) as [{ main: number; grandchild: number }];
    expect(alive(main) && alive(grandchild)).toBe(true);
    await sup.stop(2_000);
    await until("the process group gone", () => !alive(main) && !alive(grandchild));
  });

  test("a ComfyUI that exits during start-up fails the start with its output", async () => {
    const dir = await fakeComfy('import sys\nprint("boom: no torch", file=sys.stderr)\nsys.exit(3)\n');
    const err = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CLIError);
    expect((err as CLIError).code).toBe("unavailable");
    expect((err as CLIError).message).toContain("boom: no torch");
  });

  test("extraArgs (--comfy-args) follow the agent's own flags on ComfyUI's command line", async () => {
    const dir = await fakeComfy();
    const sup = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log, extraArgs: ["--highvram", "--output-directory", "/data/comfy out"] });
    supervisors.push(sup);
    const stats = (await (await fetch(`${sup.url}/system_stats`)).json()) as { system: { argv: string[] } };
    expect(stats.system.argv).toEqual(["main.py", "--listen", "127.0.0.1", "--port", String(sup.port), "--highvram", "--output-directory", "/data/comfy out"]);
  });

  test("a start-up failure is reported once, without a promise to restart", async () => {
    const dir = await fakeComfy('import os, sys\nopen(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pids"), "a").write(f"{os.getpid()} 0\\n")\nsys.exit(4)\n');
    const lines: string[] = [];
    const recording = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const err = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log: recording, restartMinMs: 10 }).catch((e: unknown) => e);
    expect((err as CLIError).code).toBe("unavailable");
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.join("")).not.toContain("restarting");
    expect(await pids(dir)).toHaveLength(1);
  });

  test("a directory without main.py is a config error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "not-comfy-"));
    dirs.push(dir);
    const err = await ComfySupervisor.start({ dir, python: "python3", gpu: null, log }).catch((e: unknown) => e);
    expect((err as CLIError).code).toBe("config");
  });
});
