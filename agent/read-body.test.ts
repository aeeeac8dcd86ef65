import { Readable } from "node:stream";
import { expect, test } from "vitest";
import { BodyTooLarge, readBytes, readText } from "./read-body.ts";

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

test("readBytes with refuse: a body within the limit comes whole; one past it is destroyed and rejects with BodyTooLarge", async () => {
  const parts = [Buffer.from("abc"), Buffer.from("def")];
  expect((await readBytes(Readable.from(parts), 6, "refuse")).toString()).toBe("abcdef");
  const long = Readable.from([Buffer.alloc(4), Buffer.alloc(4)]);
  const refused = readBytes(long, 6, "refuse");
  await expect(refused).rejects.toBeInstanceOf(BodyTooLarge);
  await expect(refused).rejects.toThrow("longer than 6 bytes");
  expect(long.destroyed).toBe(true);
});

test("readBytes with idleMs: a body that sends nothing for that long is destroyed with ETIMEDOUT", async () => {
  const stalling = new Readable({ read() {} });
  const read = readBytes(stalling, Infinity, "keep", 50);
  stalling.push("first part");
  await expect(read).rejects.toMatchObject({ code: "ETIMEDOUT", message: "the body stalled for 50 ms" });
  expect(stalling.destroyed).toBe(true);
});
