import { describe, expect, it } from "vitest";
import { formatDuration, ms, ns, parseDuration, s, us, MAX_SIM_TIME } from "../../src/engine/time.ts";

describe("parseDuration", () => {
  const ok = [
    { name: "seconds with decimals", text: "1.5s", want: 1_500_000_000 },
    { name: "milliseconds", text: "500ms", want: 500_000_000 },
    { name: "minutes", text: "2m", want: 120_000_000_000 },
    { name: "microseconds", text: "10us", want: 10_000 },
    { name: "micro sign", text: "10µs", want: 10_000 },
    { name: "hours", text: "1h", want: 3_600_000_000_000 },
    { name: "nanoseconds", text: "42ns", want: 42 },
    { name: "compound", text: "1m30s", want: 90_000_000_000 },
    { name: "compound with ms", text: "1s250ms", want: 1_250_000_000 },
    { name: "leading dot", text: ".5s", want: 500_000_000 },
    { name: "trailing dot", text: "3.s", want: 3_000_000_000 },
    { name: "bare zero", text: "0", want: 0 },
    { name: "zero with unit", text: "0s", want: 0 },
    { name: "exact decimal (no float error)", text: "0.3s", want: 300_000_000 },
    { name: "surrounding spaces", text: " 2s ", want: 2_000_000_000 },
    { name: "5 days (TCP established timeout)", text: "120h", want: 432_000 * 1e9 },
  ];
  it.each(ok)("$name: $text", ({ text, want }) => {
    expect(parseDuration(text)).toBe(want);
  });

  const bad = [
    { name: "empty", text: "", msg: /empty/ },
    { name: "no unit", text: "15", msg: /missing unit/ },
    { name: "unknown unit", text: "3d", msg: /unknown unit "d"/ },
    { name: "negative", text: "-1s", msg: /negative/ },
    { name: "garbage", text: "abc", msg: /expected a duration/ },
    { name: "space inside", text: "1 s", msg: /unknown unit/ },
    { name: "sub-nanosecond", text: "1.5ns", msg: /1ns resolution/ },
    { name: "overflow", text: "3000h", msg: /exceeds/ },
  ];
  it.each(bad)("rejects $name: '$text'", ({ text, msg }) => {
    expect(() => parseDuration(text)).toThrow(msg);
  });
});

describe("time constructors and formatting", () => {
  it("constructs integer nanoseconds", () => {
    expect(ns(7)).toBe(7);
    expect(us(1.5)).toBe(1500);
    expect(ms(0.1)).toBe(100_000);
    expect(s(1.25)).toBe(1_250_000_000);
    expect(Number.isInteger(s(0.1 + 0.2))).toBe(true);
    expect(() => s(Infinity)).toThrow(/finite/);
    expect(() => s(MAX_SIM_TIME)).toThrow(/overflows/);
  });
  const rows = [
    { name: "seconds keep 3 decimals", t: 1_250_000_000, want: "1.250s" },
    { name: "milliseconds trimmed", t: 12_500_000, want: "12.5ms" },
    { name: "whole milliseconds", t: 3_000_000, want: "3ms" },
    { name: "microseconds", t: 250_000, want: "250us" },
    { name: "nanoseconds", t: 42, want: "42ns" },
    { name: "zero", t: 0, want: "0ns" },
    { name: "negative", t: -2_000_000, want: "-2ms" },
  ];
  it.each(rows)("$name", ({ t, want }) => expect(formatDuration(t)).toBe(want));
});
