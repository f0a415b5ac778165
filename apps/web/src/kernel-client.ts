/*
 * The page's side of a kernel worker: requests as promises, frames of a
 * run as a callback.
 */

import type { KernelConfig } from "@pcpu/kernel";
import type { Frame } from "./frame.js";
import type { CpuBytes, FrameEvent, Reply, ReplyBody, Request } from "./protocol.js";
import type { Action, SessionError } from "./session.js";

/** A request the worker refused: carries the SessionError. */
export class KernelRequestError extends Error {
  readonly error: SessionError;
  constructor(error: SessionError) {
    super(error.message);
    this.name = "KernelRequestError";
    this.error = error;
  }
}

/** A request without its id. */
type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

type Pending = { resolve: (b: ReplyBody) => void; reject: (e: Error) => void };

/** One kernel worker. */
export class KernelClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Called with every frame of a run, in order. */
  onFrame: ((frame: Frame) => void) | null = null;

  constructor() {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (e: MessageEvent<Reply | FrameEvent>) => {
      const m = e.data;
      if ("type" in m && m.type === "frame") {
        this.onFrame?.(m.frame);
        return;
      }
      const r = m as Reply;
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.body);
      else p.reject(new KernelRequestError(r.error));
    };
    w.onerror = (e) => {
      const err = new Error(`kernel worker: ${e.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    return w;
  }

  /** Stops whatever the worker does (a long run) and starts a new one; pending requests fail. */
  reset(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error("cancelled"));
    this.pending.clear();
    this.worker = this.spawn();
  }

  private request(req: RequestBody): Promise<ReplyBody> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id } as Request);
    });
  }

  async boot(config: KernelConfig): Promise<Extract<ReplyBody, { type: "boot" }>> {
    return (await this.request({ type: "boot", config })) as Extract<ReplyBody, { type: "boot" }>;
  }

  async run(action: Action): Promise<Extract<ReplyBody, { type: "run" }>> {
    return (await this.request({ type: "run", action })) as Extract<ReplyBody, { type: "run" }>;
  }

  async bytes(frame: number, ptr: number, size: number): Promise<readonly CpuBytes[]> {
    return (
      (await this.request({ type: "bytes", frame, ptr, size })) as Extract<ReplyBody, { type: "bytes" }>
    ).cpus;
  }

  async trace(): Promise<string> {
    return ((await this.request({ type: "trace" })) as Extract<ReplyBody, { type: "trace" }>).text;
  }
}
