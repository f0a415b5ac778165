/*
 * The kernel worker: one per pane. It owns the pane's kernel (a Session),
 * so a workload or a replay runs to its end without blocking the page, and
 * streams a Frame after every tick. It answers requests one at a time, in
 * order; requests sent during a run wait for it.
 */

import type { KernelConfig } from "@pcpu/kernel";
import type { FrameEvent, Reply, Request } from "./protocol.js";
import { type Action, Session, sessionError } from "./session.js";

interface WorkerScope {
  postMessage(msg: unknown): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
}

const scope = self as unknown as WorkerScope;

/** The worker's state: the config booted, the session shown, the action run, a session stopped at a frame. */
class KernelWorker {
  config: KernelConfig | null = null;
  session: Session | null = null;
  action: Action | null = null;
  inspect: Session | null = null;

  handle(req: Request): Reply {
    try {
      switch (req.type) {
        case "boot": {
          const s = new Session(req.config);
          this.config = req.config;
          this.session = s;
          this.action = null;
          this.inspect = null;
          return { id: req.id, ok: true, body: { type: "boot", info: s.info, frame: s.frame(0, "boot") } };
        }
        case "run": {
          if (this.config === null) throw new Error("boot a kernel first");
          /* Every run starts from a fresh boot of the same config: runs are reproducible and comparable. */
          const s = new Session(this.config);
          this.session = s;
          this.action = req.action;
          this.inspect = null;
          const result = s.run(req.action, (frame) => {
            const ev: FrameEvent = { type: "frame", id: req.id, frame };
            scope.postMessage(ev);
          });
          return { id: req.id, ok: true, body: { type: "run", info: s.info, result } };
        }
        case "bytes": {
          const s = this.sessionAt(req.frame);
          return { id: req.id, ok: true, body: { type: "bytes", cpus: s.bytes(req.ptr, req.size) } };
        }
        case "trace":
          if (this.session === null) throw new Error("boot a kernel first");
          return { id: req.id, ok: true, body: { type: "trace", text: this.session.traceText() } };
      }
    } catch (e) {
      return { id: req.id, ok: false, error: sessionError(e) };
    }
  }

  /** A kernel as it was at frame `index` of the current run: the live one, or the same run booted again and stopped there. */
  sessionAt(index: number): Session {
    if (this.config === null || this.session === null) throw new Error("boot a kernel first");
    if (this.session.at === index) return this.session;
    if (this.inspect !== null && this.inspect.at === index) return this.inspect;
    const s = new Session(this.config);
    if (index > 0) {
      if (this.action === null) throw new Error(`no run has a frame ${index}`);
      s.run(this.action, null, index);
      if (s.at !== index) throw new Error(`the run has no frame ${index}`);
    }
    this.inspect = s;
    return s;
  }
}

const w = new KernelWorker();
scope.onmessage = (e) => {
  scope.postMessage(w.handle(e.data));
};
