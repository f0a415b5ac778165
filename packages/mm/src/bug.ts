/*
 * BUG(): the kernel stops when it finds itself in a state it cannot
 * continue from. The model logs the kernel's text first (the caller does)
 * and then throws one of these typed errors, so a test can tell a checked
 * misuse from an ordinary failure (which is a return value, never a throw).
 *
 * Mirrors include/asm-generic/bug.h (BUG, BUG_ON) in spirit; the subclasses
 * live beside the concept that raises them (KernelOops in memory.ts,
 * SleepInAtomicError in context.ts, BadPageError in page-alloc.ts).
 */

/**
 * A kernel BUG: misuse the kernel would stop on (BUG_ON, a corrupted lock,
 * freeing an unknown vm area...). The message is the first line logged.
 */
export class KernelBug extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelBug";
  }
}
