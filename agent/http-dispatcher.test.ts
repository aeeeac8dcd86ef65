import { describe, expect, test } from "vitest";
import { isLoopback } from "./http-dispatcher.ts";

describe("isLoopback", () => {
  test("this machine's own addresses and names, as URL hostnames give them", () => {
    const host = (origin: string) => new URL(origin).hostname;
    const loopback = ["http://127.0.0.1:8188", "http://127.4.5.6", "http://localhost:8188", "http://LOCALHOST.", "http://comfy.localhost", "http://[::1]:8188", "http://[::ffff:127.0.0.1]"];
    const remote = ["http://10.0.0.7:8188", "http://comfy.lan", "https://edge.example.com", "http://[::2]", "http://[::ffff:10.0.0.1]", "http://128.0.0.1", "http://localhost.example.com"];
    expect(loopback.filter((o) => !isLoopback(host(o)))).toEqual([]);
    expect(remote.filter((o) => isLoopback(host(o)))).toEqual([]);
  });
});
