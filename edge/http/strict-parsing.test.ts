import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { sign } from "../auth/signing.ts";
import { MAX_FRAME_BYTES } from "../queue/agent-session.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { TEST_BINDINGS } from "../test/bindings.ts";
import { call, submit } from "../test/http.ts";

type Json = Record<string, any>;

describe("params: names that every object inherits are unknown parameters", () => {
  for (const name of ["__proto__", "constructor", "prototype"]) {
    it(`refuses params.${name} as unknown, like any other name`, async () => {
      // Raw JSON text: JSON.stringify of an object literal would not keep an own "__proto__" key.
      const body = `{"workflow_id":"sd15_basic","params":{"prompt":"a cat","${name}":{"steps":500}}}`;
      const res = await call("POST", "/v1/jobs", "alice", body);
      expect(res.status).toBe(400);
      const err = ((await res.json()) as Json).error;
      expect(err.code).toBe("invalid_params");
      expect(err.details).toEqual([expect.objectContaining({ path: `params.${name}`, rule: "unknown" })]);
    });
  }
});

describe("events tokens accept exactly <exp>.<sig>", () => {
  it("refuses trailing junk and a zero-padded expiry that carry a valid signature", async () => {
    const { body } = await submit({ prompt: "token forms" });
    const url = new URL(body.events_url as string);
    const token = url.searchParams.get("token")!;
    const [exp, sig] = token.split(".") as [string, string];
    const sse = { accept: "text/event-stream" };
    const path = (t: string) => `${url.pathname}?token=${t}`;
    const good = await call("GET", path(token), "none", undefined, sse);
    expect(good.status).toBe(200);
    await good.body?.cancel();
    for (const bad of [`${token}.junk`, `${token}.`, `0${exp}.${sig}`, `${exp}.${sig}=`, `${exp}..${sig}`]) {
      const res = await call("GET", path(bad), "none", undefined, sse);
      expect(res.status, bad).toBe(403);
      expect(((await res.json()) as Json).error.code, bad).toBe("invalid_signature");
    }
  });
});

describe("signed download links accept exactly the canonical exp and sig", () => {
  it("refuses exp=0<exp> and a signature with stray bits in its last character", async () => {
    const key = `out/tsk_canon${crypto.randomUUID().slice(0, 8)}/lse_x/0`;
    await env.FILES.put(key, new Uint8Array([1, 2, 3]));
    const exp = Math.floor(Date.now() / 1000) + 600;
    const sig = await sign(TEST_BINDINGS.SIGNING_KEY!, "file", key, exp);
    expect((await call("GET", `/files/${key}?exp=${exp}&sig=${sig}`, "none")).status).toBe(200);
    // 32 bytes in base64url leave 2 unused bits in the 43rd character: another letter decodes the same.
    const last = sig.at(-1)!;
    const sibling = "AEIMQUYcgkosw048".includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last;
    const forms = [`exp=0${exp}&sig=${sig}`, `exp=${exp}&sig=${sig.slice(0, -1)}${sibling}`, `exp=${exp}&sig=${sig}%3D`, `exp=+${exp}&sig=${sig}`];
    for (const q of forms) {
      const res = await call("GET", `/files/${key}?${q}`, "none");
      expect(res.status, q).toBe(403);
    }
  });
});

describe("agent frames are limited to 1 MiB of UTF-8", () => {
  it("parses a frame just under 1 MiB and refuses by size one over it that is short in characters", async () => {
    const a = await TestAgent.connect();
    try {
      a.hello({ inventory: { checkpoints: [], loras: [] } });
      await a.next("welcome");
      // Under the limit in bytes (but over a million characters): parsed, and refused only for its unknown type.
      const pad = "x".repeat(MAX_FRAME_BYTES - 100);
      a.send(`{"type":"padded","pad":"${pad}"}`);
      const parsed = await a.next("error");
      expect(parsed.code).toBe("unknown_type");
      // 400 000 three-byte characters: 1.2 MB of UTF-8, far fewer characters than the limit. Where the runtime's
      // own cap is 1 MiB it closes the socket (1009) first; here (in-process sockets) the frame arrives and is refused by size.
      a.send(`{"type":"padded","pad":"${"€".repeat(400_000)}"}`);
      const outcome = await Promise.race([a.next("error").then((e) => e.message), a.waitClosed().then((c) => `closed ${c.code}`)]);
      expect(outcome).toMatch(/at most 1048576 bytes|closed 1009/);
    } finally {
      a.close();
    }
  });
});
