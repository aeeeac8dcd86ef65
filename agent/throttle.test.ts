import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { Throttle } from "./throttle.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

test("sends the first value at once, coalesces a burst to its newest, and flush sends what is held", () => {
  const sent: number[] = [];
  const t = new Throttle<number>(100, (v) => sent.push(v));
  t.push(1);
  t.push(2);
  t.push(3);
  expect(sent).toEqual([1]);
  vi.advanceTimersByTime(100);
  expect(sent).toEqual([1, 3]);
  t.push(4);
  t.push(5);
  t.flush();
  expect(sent).toEqual([1, 3, 5]);
  vi.advanceTimersByTime(1_000);
  expect(sent).toEqual([1, 3, 5]);
});

test("close drops a held value", () => {
  const sent: number[] = [];
  const t = new Throttle<number>(100, (v) => sent.push(v));
  t.push(1);
  t.push(2);
  t.close();
  vi.advanceTimersByTime(1_000);
  expect(sent).toEqual([1]);
});

test("pushNow sends at once even inside the interval and drops what was held", () => {
  const sent: number[] = [];
  const t = new Throttle<number>(100, (v) => sent.push(v));
  t.push(1);
  t.push(2);
  t.pushNow(3);
  expect(sent).toEqual([1, 3]);
  vi.advanceTimersByTime(1_000);
  expect(sent).toEqual([1, 3]);
  t.push(4);
  expect(sent).toEqual([1, 3, 4]);
});

test("defer sends only after a full interval, and not at all when a newer value came first", () => {
  const sent: number[] = [];
  const t = new Throttle<number>(100, (v) => sent.push(v));
  t.defer(1);
  vi.advanceTimersByTime(99);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(sent).toEqual([1]);
  t.defer(2);
  t.pushNow(3);
  vi.advanceTimersByTime(1_000);
  expect(sent).toEqual([1, 3]);
});

test("defer with a shorter hold sends after that hold; pushes meanwhile replace the held value", () => {
  const sent: number[] = [];
  const t = new Throttle<number>(100, (v) => sent.push(v));
  t.defer(1, 20);
  t.push(2);
  vi.advanceTimersByTime(19);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(sent).toEqual([2]);
});
