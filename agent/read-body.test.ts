import { Readable } from "node:stream";
import { expect, test } from "vitest";
import { readText } from "./read-text.ts";

test("reads a body to its end as UTF-8, across chunk borders", async () => {
  const euro = Buffer.from("€", "utf8");
  const body = Readable.from([Buffer.from("a"), euro.subarray(0, 2), euro.subarray(2), Buffer.from("b")]);
  expect(await readText(body)).toBe("a€b");
});

test("keeps at most keepBytes (whole chunks) but reads the rest off", async () => {
  const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 120));
  const body = Readable.from(chunks);
  const text = await readText(body, 2500);
  expect(text.length).toBe(3000);
  expect(body.readableEnded).toBe(true);
});

test("a body that errors or is destroyed before its end rejects", async () => {
  const failing = new Readable({ read() {} });
  const read = readText(failing);
  failing.push("part");
  failing.destroy(new Error("socket hang up"));
  await expect(read).rejects.toThrow("socket hang up");
  const cut = new Readable({ read() {} });
  const cutRead = readText(cut);
  cut.destroy();
  await expect(cutRead).rejects.toThrow("closed before its end");
});
