/*
 * A trace buffer for the percpu tracepoints: the sink the core emits
 * events into (the ring buffer of kernel/trace, reduced to an array), with
 * the framing (task, pid, timestamp, flags) taken from the caller's clock
 * and context at emission time. Its records feed `ftraceFile`.
 */

import type { PcpuTraceEvent, PcpuTraceSink } from "@pcpu/percpu";
import type { TraceFraming, TraceRecord } from "./api.js";

/** Supplies the framing of an event when it is emitted. */
export type TraceFramingFn = (ev: PcpuTraceEvent) => TraceFraming;

/**
 * Records every emitted event with its framing. Tracing costs nothing when
 * off: the core then holds null instead of a sink.
 */
export class PcpuTraceRecorder implements PcpuTraceSink {
  readonly records: TraceRecord[];
  /** Entries ever written (`entries-written`). */
  written: number;
  private readonly framing: TraceFramingFn;
  /** Ring size in entries; the oldest entries are overwritten beyond it (Infinity: unbounded). */
  private readonly capacity: number;

  /**
   * @param framing called once per event for its task, pid and timestamp
   * @param capacity keep at most this many entries (default unbounded)
   */
  constructor(framing: TraceFramingFn, capacity = Number.POSITIVE_INFINITY) {
    this.records = [];
    this.written = 0;
    this.framing = framing;
    this.capacity = capacity;
  }

  /**
   * Record one event.
   * @param ev the tracepoint's fields
   * @context any (tracepoints never sleep)
   */
  emit(ev: PcpuTraceEvent): void {
    this.records.push({ ev, framing: this.framing(ev) });
    this.written++;
    if (this.records.length > this.capacity) this.records.shift();
  }

  /** Empty the buffer (`echo > trace`). */
  clear(): void {
    this.records.length = 0;
    this.written = 0;
  }
}
