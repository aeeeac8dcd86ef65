import { describe, expect, test } from "vitest";
import type { AgentMessage } from "../shared/protocol.ts";
import { encodePng } from "../sim/png.ts";
import { PreviewRelay } from "./preview-relay.ts";

describe("PreviewRelay", () => {
  const lease = { job_id: "tsk_aaaaaaaaaaaaaaaaaaaa.default", lease_id: "lse_aaaaaaaaaaaaaaaa" };

  test("relays at most 2 a second, as base64 preview frames of the lease", () => {
    const sent: AgentMessage[] = [];
    let now = 1_000;
    const relay = new PreviewRelay(lease, (m) => sent.push(m) > 0, () => now);
    const png = encodePng(64, 64, 1);
    for (let i = 0; i < 10; i++, now += 100) relay.offer({ promptId: null, nodeId: "3", contentType: "image/png", bytes: png });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({ type: "preview", ...lease, content_type: "image/png", node_id: "3" });
    expect(Buffer.from((sent[0] as { data: string }).data, "base64").equals(png)).toBe(true);
    expect(relay.dropped).toBe(8);
  });

  test("drops what is larger than 512 px on its long side, or not an image at all", () => {
    const sent: AgentMessage[] = [];
    let now = 0;
    const relay = new PreviewRelay(lease, (m) => sent.push(m) > 0, () => (now += 1_000));
    relay.offer({ promptId: null, nodeId: null, contentType: "image/png", bytes: encodePng(640, 64, 2) });
    relay.offer({ promptId: null, nodeId: null, contentType: "image/png", bytes: Buffer.from("not an image") });
    relay.offer({ promptId: null, nodeId: null, contentType: "image/png", bytes: encodePng(512, 320, 3) });
    expect(sent).toHaveLength(1);
    expect(relay.dropped).toBe(2);
  });
});
