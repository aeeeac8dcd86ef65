import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { TERMINAL } from "../e2e/helpers.ts";
import type { AgentMessage, JobMessage } from "../shared/protocol.ts";
import { startSim, type Sim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import { TuningSchema } from "./config.ts";
import { comfyDirs, JobFiles } from "./job-files.ts";
import { JobSlots } from "./jobs.ts";
import { Metrics } from "./metrics.ts";
import { img2img, txt2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";
import { startEdgeUnderTest, startTestAgent, TEST_TUNING, type EdgeUnderTest } from "./testing/real-edge.ts";
import { TINY_PNG, until } from "./testing/until.ts";

const log = pino({ level: "silent" });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 1 });
  cleanups.push(() => s.close());
  return s;
}

/** Every file under a directory, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** JobSlots on the sim, with a fixture server for the input download and the output PUTs. */
async function slotsOn(s: Sim, files: JobFiles | null) {
  const fixture = await startFixtureServer({ "/in.png": TINY_PNG });
  cleanups.push(() => fixture.close());
  const comfy = new ComfyClient(s.url);
  cleanups.push(async () => comfy.close());
  const sent: AgentMessage[] = [];
  const slots = new JobSlots({
    comfy, send: (m) => (sent.push(m), true), log, metrics: new Metrics(), capacity: 1, prefetch: 0, jobTimeoutMs: 20_000,
    tuning: TuningSchema.parse(TEST_TUNING), agentId: "agt_files", files,
  });
  const job = (n: number, graph: Record<string, unknown>, inputs: JobMessage["inputs"] = []): JobMessage => ({
    type: "job", job_id: `tsk_files${n}`, lease_id: `lse_files${n}`, attempt: 1, deadline: Date.now() + 60_000, graph, inputs, models: [],
    output_format: { type: "png", quality: 90 },
    upload: { base_url: `${fixture.url}/put`, exp: Date.now() + 60_000, sig: "s", max_files: 4, max_bytes: 10_000_000 },
  });
  const final = (n: number) => until(`job ${n} final`, () => sent.some((m) => (m.type === "complete" || m.type === "fail" || m.type === "release") && m.job_id === `tsk_files${n}`)).then(() => sent.find((m) => m.type !== "progress" && "job_id" in m && m.job_id === `tsk_files${n}`));
  const input = { node_id: "10", input: "image", url: `${fixture.url}/in.png`, filename: "in.png" };
  return { slots, job, final, input, fixture };
}

describe("each job's files in ComfyUI's input/ and output/", () => {
  test("after a successful upload the input it put in input/ and the outputs of its prompt are gone", async () => {
    const s = await sim();
    const before = { input: filesUnder(s.dirs.input), output: filesUnder(s.dirs.output) };
    const { slots, job, final, input, fixture } = await slotsOn(s, new JobFiles(comfyDirs({ launch: null, comfyDir: s.dirs.base }) as NonNullable<ReturnType<typeof comfyDirs>>, log));
    slots.accept(job(1, img2img(), [input]));
    expect(await final(1)).toMatchObject({ type: "complete", outputs: [{ filename: "agent_img2img_00001_.png" }] });
    expect(fixture.puts).toHaveLength(1);
    await until("the job's files deleted", () => filesUnder(s.dirs.input).join() === before.input.join() && filesUnder(s.dirs.output).join() === before.output.join());
  });

  test("after a failure too (the input is gone; outputs written before the error with it)", async () => {
    const s = await sim();
    s.setFaults({ errorRate: 1, seed: 3 });
    const { slots, job, final, input } = await slotsOn(s, new JobFiles({ input: s.dirs.input, output: s.dirs.output }, log));
    slots.accept(job(2, img2img(), [input]));
    expect(await final(2)).toMatchObject({ type: "fail", error: { code: "execution_error" } });
    await until("the input deleted", () => !filesUnder(s.dirs.input).some((f) => f.includes("tsk_files2")));
    expect(filesUnder(s.dirs.output)).toEqual([]);
  });

  test("with --keep-files (no JobFiles) both stay, where ComfyUI put them", async () => {
    const s = await sim();
    const { slots, job, final, input } = await slotsOn(s, null);
    slots.accept(job(3, img2img(), [input]));
    expect(await final(3)).toMatchObject({ type: "complete" });
    expect(filesUnder(s.dirs.input)).toContain("tsk_files3_in.png");
    await until("the output on disk", () => filesUnder(s.dirs.output).includes("agent_img2img_00001_.png"));
  });

  test("the same graph twice (ComfyUI's cache) still delivers the second time: each lease writes its own files", async () => {
    const s = await sim();
    const { slots, job, final, fixture } = await slotsOn(s, new JobFiles({ input: s.dirs.input, output: s.dirs.output }, log));
    slots.accept(job(4, txt2img({ seed: 7 })));
    expect(await final(4)).toMatchObject({ type: "complete" });
    slots.accept(job(5, txt2img({ seed: 7 })));
    expect(await final(5)).toMatchObject({ type: "complete" });
    expect(fixture.puts).toHaveLength(2);
    await until("no outputs left", () => filesUnder(s.dirs.output).length === 0);
  });
});

describe("ComfyUI's directories", () => {
  test("--launch: the checkout's, or where --base-directory / --output-directory / --input-directory put them; --comfy-dir otherwise", () => {
    expect(comfyDirs({ launch: { dir: "/opt/ComfyUI", args: [] }, comfyDir: null })).toEqual({ input: "/opt/ComfyUI/input", output: "/opt/ComfyUI/output" });
    expect(comfyDirs({ launch: { dir: "/opt/ComfyUI", args: ["--base-directory", "/data", "--output-directory=out"] }, comfyDir: null })).toEqual({ input: "/data/input", output: "/opt/ComfyUI/out" });
    expect(comfyDirs({ launch: null, comfyDir: "/srv/comfy" })).toEqual({ input: "/srv/comfy/input", output: "/srv/comfy/output" });
    expect(comfyDirs({ launch: null, comfyDir: null })).toBeNull();
  });
});

describe("through the real edge", () => {
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    edge = await startEdgeUnderTest();
  });
  afterAll(async () => edge?.close());

  test("an agent with --comfy-dir leaves ComfyUI's output/ as it found it after a job", async () => {
    const s = await sim();
    const agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url, comfyDir: s.dirs.base });
    cleanups.push(async () => agent.kill());
    const id = await edge.submit();
    const done = await edge.waitFor(id, (t) => TERMINAL.includes(t.status), "finished");
    expect(done).toMatchObject({ status: "SUCCESS", attempts: 1 });
    expect(done.result?.outputs).toHaveLength(1);
    await until("output/ empty again", () => filesUnder(s.dirs.output).length === 0);
    await edge.cancelSubmitted();
  });
});
