/*
 * Small helpers shared by the benchmarks: a median, a monotonic clock read
 * and number formatting. Nothing here runs on a measured hot path.
 */

/** The median of `xs` (the mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * CPU time this process has used so far (user + system, `process.cpuUsage`),
 * in ms. Other processes on a shared host move wall time far more than this.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Nanoseconds per operation for `totalMs` over `ops` operations. */
export function nsPerOp(totalMs: number, ops: number): number {
  return ops > 0 ? (totalMs * 1e6) / ops : Number.NaN;
}

/** Milliseconds with `digits` decimals, right-aligned to `width`. */
export function ms(x: number, width = 0, digits = 0): string {
  return x.toFixed(digits).padStart(width);
}

/** A ratio like "68.1x". */
export function ratio(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}x`;
}

/** Bytes as "1.5 KiB" / "8 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${+(n / 1024).toFixed(1)} KiB`;
  if (n < 2 ** 30) return `${+(n / 2 ** 20).toFixed(1)} MiB`;
  return `${+(n / 2 ** 30).toFixed(1)} GiB`;
}

/** Runs the garbage collector when the process was started with --expose-gc (between measurements only). */
export function collectGarbage(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") g();
}
