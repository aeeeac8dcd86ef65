import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startSim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import { runPrompt } from "./comfy/run.ts";
import { InputError, stageInputs } from "./inputs.ts";
import { CHECKPOINT, img2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";
import { TINY_PNG } from "./testing/until.ts";

let sim: Awaited<ReturnType<typeof startSim>>;
let files: Awaited<ReturnType<typeof startFixtureServer>>;
let comfy: ComfyClient;

beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] } });
  files = await startFixtureServer({ "/inputs/cat.png": TINY_PNG });
  comfy = new ComfyClient(sim.url);
});
afterAll(async () => {
  comfy.close();
  await files.close();
  await sim.close();
});

describe("stageInputs", () => {
  test("downloads each input, uploads it to ComfyUI and points the graph at it; the img2img prompt then runs", async () => {
    const job = {
      job_id: "job-img2img-1",
      graph: img2img(),
      inputs: [{ node_id: "10", input: "image", url: `${files.url}/inputs/cat.png?sig=secret`, filename: "my cat.png" }],
    };
    const graph = await stageInputs(comfy, job);
    const name = (graph["10"] as { inputs: { image: string } }).inputs.image;
    expect(name).toBe("job-img2img-1_my_cat.png");
    expect((job.graph["10"] as { inputs: { image: string } }).inputs.image).toBe("placeholder.png");
    const stored = await comfy.view({ filename: name, subfolder: "", type: "input" });
    expect(Buffer.concat(await stored.body.toArray()).equals(TINY_PNG)).toBe(true);
    const outcome = await runPrompt(comfy, { graph, pollMs: 25 });
    expect(outcome.ok).toBe(true);
  });

  test("a missing input file fails without retry, and without leaking the signed URL", async () => {
    const err = await stageInputs(comfy, {
      job_id: "j2",
      graph: img2img(),
      inputs: [{ node_id: "10", input: "image", url: `${files.url}/inputs/gone.png?sig=secret`, filename: "gone.png" }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe("input_download_failed");
    expect((err as InputError).retryable).toBe(false);
    expect((err as InputError).message).not.toContain("secret");
  });

  test("an input aimed at a node the graph lacks is invalid_input", async () => {
    const err = await stageInputs(comfy, {
      job_id: "j3",
      graph: img2img(),
      inputs: [{ node_id: "99", input: "image", url: `${files.url}/inputs/cat.png`, filename: "cat.png" }],
    }).catch((e: unknown) => e);
    expect((err as InputError).code).toBe("invalid_input");
  });
});
