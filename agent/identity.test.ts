import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { loadAgentId } from "./identity.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

test("the agent id is stable per name across restarts and differs between names", async () => {
  const dir = await mkdtemp(join(tmpdir(), "agent-state-"));
  dirs.push(dir);
  const first = await loadAgentId(join(dir, "state"), "rig-1/gpu0");
  const again = await loadAgentId(join(dir, "state"), "rig-1/gpu0");
  const other = await loadAgentId(join(dir, "state"), "rig-1/gpu1");
  expect(first.persisted).toBe(true);
  expect(again.id).toBe(first.id);
  expect(other.id).not.toBe(first.id);
  expect(first.id).toMatch(/^agt_[0-9a-f-]{36}$/);
});

test("an unwritable state dir still yields an id, marked as not persisted", async () => {
  const dir = await mkdtemp(join(tmpdir(), "agent-state-"));
  dirs.push(dir);
  const blocker = join(dir, "file");
  await writeFile(blocker, "not a directory");
  await chmod(blocker, 0o400);
  const result = await loadAgentId(join(blocker, "state"), "rig");
  expect(result.persisted).toBe(false);
  expect(result.id).toMatch(/^agt_/);
});
