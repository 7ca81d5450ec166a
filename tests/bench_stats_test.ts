import assert from "node:assert/strict";
import { dueAt, fmt, median, percentile, ratio, summarize } from "../bench/stats.ts";

Deno.test("median: odd, even, unsorted, empty, non-finite ignored", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([1, NaN, 3, Infinity]), 2);
});

Deno.test("median does not reorder its input", () => {
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2]);
});

Deno.test("percentile: nearest rank", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 0.5), 1);
  const big = Array.from({ length: 2000 }, (_, i) => 2000 - i); // 2000..1, reversed
  assert.equal(percentile(big, 99), 1980);
  assert.equal(percentile(big, 50), 1000);
  assert.equal(percentile([5], 99), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
});

Deno.test("summarize", () => {
  const s = summarize([4, 2, 8, 6]);
  assert.deepEqual(s, { count: 4, min: 2, p50: 4, p90: 8, p99: 8, max: 8, mean: 5 });
  const e = summarize([]);
  assert.equal(e.count, 0);
  assert.ok(Number.isNaN(e.p50) && Number.isNaN(e.min) && Number.isNaN(e.mean));
});

Deno.test("fmt and ratio", () => {
  assert.equal(fmt(1.2345, 2), "1.23");
  assert.equal(fmt(NaN), "—");
  assert.equal(fmt(undefined), "—");
  assert.equal(ratio(3, 1.5), "2.00x");
  assert.equal(ratio(1, 0), "—");
  assert.equal(ratio(NaN, 1), "—");
});

Deno.test("dueAt keeps an exact rate from the start", () => {
  assert.equal(dueAt(100, 0, 200), 100);
  assert.equal(dueAt(100, 200, 200), 1100);
  assert.equal(dueAt(0, 1999, 200), 9995);
  assert.equal(dueAt(0, 1000, 1000), 1000);
});
