/*
 * The benchmarks `pnpm bench` knows, in the order "run all" runs them. To add
 * a benchmark, export a `Benchmark` (bench.ts) from its module and add it
 * to BENCHMARKS.
 */

import type { Benchmark } from "./bench.js";
import { memsetBenchmark } from "./benchmarks/memset.js";
import { scaleBenchmark } from "./benchmarks/scale.js";
import { soakBenchmark } from "./benchmarks/soak.js";
import { eval2017Benchmark } from "./eval-2017.js";
import { scalingBenchmark } from "./scaling.js";
import { statsCostBenchmark } from "./stats-cost.js";
import { vmVsKmBenchmark } from "./vm-vs-km.js";

export type { BenchContext, Benchmark, BenchReport } from "./bench.js";

export const BENCHMARKS: readonly Benchmark[] = [
  memsetBenchmark,
  eval2017Benchmark,
  scalingBenchmark,
  scaleBenchmark,
  vmVsKmBenchmark,
  soakBenchmark,
  statsCostBenchmark,
];
