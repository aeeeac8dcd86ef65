import { beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "../app.ts";
import { call, submit, type Who } from "../test/http.ts";

const ROLE_OF: Record<Who, string> = { none: "none", wrong: "none", alice: "client", bob: "client", carol: "client", agent: "agent", admin: "admin" };
const WHO: Who[] = ["none", "wrong", "alice", "agent", "admin"];

function concretePath(path: string, taskId: string): string {
  return path.replace(":id", taskId).replace("/*", "/out/tsk_aaaaaaaaaaaaaaaaaaaa.default/lse_aaaaaaaaaaaaaaaa/0");
}

/** Generated from the route table itself: a new route cannot skip the matrix. */
describe("auth matrix: every route × no key, wrong key, client, agent, admin", () => {
  let taskId = "";
  beforeAll(async () => {
    taskId = (await submit({ prompt: "matrix" })).body.task_id;
  });
  for (const route of ROUTES) {
    for (const who of WHO) {
      it(`${route.method} ${route.path} as ${who}`, async () => {
        const res = await call(route.method, concretePath(route.path, taskId), who);
        const status = res.status;
        if (route.auth === "public") {
          expect([401, 403]).not.toContain(status);
        } else if (route.auth === "signed") {
          // Signed routes ignore roles: without a signature or token they refuse everyone.
          if (route.path === "/tasks/:id/events") {
            if (ROLE_OF[who] === "none") expect(status).toBe(401);
            else if (ROLE_OF[who] === "agent") expect(status).toBe(403);
            else expect(status).toBe(400); // authorized, but not a WebSocket/SSE request
          } else {
            expect(status).toBe(403);
          }
        } else {
          const role = ROLE_OF[who];
          if (role === "none") expect(status).toBe(401);
          else if (role === "admin" || route.auth.includes(role as never)) expect([401, 403]).not.toContain(status);
          else expect(status).toBe(403);
        }
        const text = await res.text();
        if (status >= 400) expect(JSON.parse(text).error.code).toBeTypeOf("string");
      });
    }
  }
});

describe("cross-key access", () => {
  it("another client cannot read, cancel or watch a task; the owner and admin can", async () => {
    const { body } = await submit({ prompt: "mine" }, "alice");
    const sse = { accept: "text/event-stream" };
    expect((await call("GET", `/tasks/${body.task_id}`, "bob")).status).toBe(404);
    expect((await call("DELETE", `/tasks/${body.task_id}`, "bob")).status).toBe(404);
    // Finished, so each feed below sends its one state and ends (no stream is left open).
    expect((await call("DELETE", `/tasks/${body.task_id}`, "alice")).status).toBe(200);
    expect((await call("GET", `/tasks/${body.task_id}/events`, "bob", undefined, sse)).status).toBe(404);
    const own = await call("GET", `/tasks/${body.task_id}/events`, "alice", undefined, sse);
    expect(own.status).toBe(200);
    await own.body?.cancel();
    const admin = await call("GET", `/tasks/${body.task_id}/events`, "admin", undefined, sse);
    expect(admin.status).toBe(200);
    await admin.body?.cancel();
  });

  it("an events token works only for its own task and only until it expires", async () => {
    const a = await submit({ prompt: "a" });
    const b = await submit({ prompt: "b" });
    await call("DELETE", `/tasks/${a.body.task_id}`);
    await call("DELETE", `/tasks/${b.body.task_id}`);
    const token = new URL(a.body.events_url).searchParams.get("token")!;
    const sse = { accept: "text/event-stream" };
    const ok = await call("GET", `/tasks/${a.body.task_id}/events?token=${token}`, "none", undefined, sse);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const other = await call("GET", `/tasks/${b.body.task_id}/events?token=${token}`, "none", undefined, sse);
    expect(other.status).toBe(403);
    const [, sig] = token.split(".");
    const expired = await call("GET", `/tasks/${a.body.task_id}/events?token=1000.${sig}`, "none", undefined, sse);
    expect(expired.status).toBe(403);
    // Change the last character (to one it is not), so the token really differs.
    const tamperedToken = token.slice(0, -1) + (token.endsWith("x") ? "y" : "x");
    const tampered = await call("GET", `/tasks/${a.body.task_id}/events?token=${tamperedToken}`, "none", undefined, sse);
    expect(tampered.status).toBe(403);
  });
});
