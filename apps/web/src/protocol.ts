/*
 * The messages between the page and a kernel worker (worker.ts). Types only.
 */

import type { KernelConfig } from "@pcpu/kernel";
import type { Frame, KernelInfo } from "./frame.js";
import type { Action, ActionResult, SessionError } from "./session.js";

/** Requests, each answered once by a Reply with the same id. */
export type Request =
  | { readonly id: number; readonly type: "boot"; readonly config: KernelConfig }
  | { readonly id: number; readonly type: "run"; readonly action: Action }
  | {
      readonly id: number;
      readonly type: "bytes";
      readonly frame: number;
      readonly ptr: number;
      readonly size: number;
    }
  | { readonly id: number; readonly type: "trace" };

/** The bytes of one allocation on one CPU. */
export interface CpuBytes {
  readonly cpu: number;
  readonly addr: string;
  readonly bytes: Uint8Array;
}

export type ReplyBody =
  | { readonly type: "boot"; readonly info: KernelInfo; readonly frame: Frame }
  | { readonly type: "run"; readonly info: KernelInfo; readonly result: ActionResult }
  | { readonly type: "bytes"; readonly cpus: readonly CpuBytes[] }
  | { readonly type: "trace"; readonly text: string };

export type Reply =
  | ({ readonly id: number; readonly ok: true } & { readonly body: ReplyBody })
  | { readonly id: number; readonly ok: false; readonly error: SessionError };

/** Sent while a run goes on: one per frame, in order. */
export interface FrameEvent {
  readonly type: "frame";
  /** The run request's id. */
  readonly id: number;
  readonly frame: Frame;
}
