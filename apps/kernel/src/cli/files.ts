/*
 * The files a command line names: read and written relative to the
 * directory the user ran the command in, `-` for stdin/stdout, errors that
 * name both the path given and the path tried, and binary input refused
 * instead of being parsed (and its bytes echoed back in an error line).
 */

import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "./args.js";

/** Where files are read and written from. */
export interface FileIo {
  readonly cwd: string;
  readonly stdout: { write(s: string): unknown };
  /** Reads all of stdin (`-`); absent when the caller has none. */
  readonly readStdin?: () => Buffer;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a path component is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
};

function ioError(verb: string, what: string, path: string, tried: string, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException).code;
  const text = code === undefined ? (e as Error).message : `${code} (${ERRNO_TEXT[code] ?? "error"})`;
  const where = tried === path ? path : `${path} (tried ${tried})`;
  return new UsageError(`cannot ${verb} ${what} ${where}: ${text}`);
}

/**
 * Whether bytes look like a binary file rather than text: a NUL byte in
 * the first 8 KiB, or more than 1 in 8 of its bytes neither printable
 * ASCII, common whitespace, nor part of valid UTF-8.
 */
export function looksBinary(buf: Uint8Array): boolean {
  const n = Math.min(buf.length, 8192);
  if (n === 0) return false;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i]!;
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) bad++;
  }
  if (bad * 8 > n) return true;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(buf.subarray(0, n));
  let replaced = 0;
  for (const ch of text) if (ch === "\ufffd") replaced++;
  /* A multi-byte character cut at the 8 KiB boundary decodes to one U+FFFD. */
  return replaced > 1 && replaced * 8 > text.length;
}

/** Reads a text file the user named (`-`: stdin); refuses a binary one. */
export function readUserFile(io: FileIo, path: string, what: string): string {
  let buf: Buffer;
  const tried = path === "-" ? "-" : resolve(io.cwd, path);
  try {
    if (path === "-") {
      if (io.readStdin === undefined) throw new UsageError(`cannot read ${what} from stdin here`);
      buf = io.readStdin();
    } else {
      buf = readFileSync(tried);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw ioError("read", what, path, tried, e);
  }
  if (looksBinary(buf)) {
    throw new UsageError(
      `${what} ${path === "-" ? "on stdin" : path} is a binary file, not text (${buf.length} bytes)`,
    );
  }
  return buf.toString("utf8");
}

/** Writes a file the user named (`-`: stdout). */
export function writeUserFile(io: FileIo, path: string, text: string, what: string): void {
  if (path === "-") {
    io.stdout.write(text);
    return;
  }
  const tried = resolve(io.cwd, path);
  try {
    writeFileSync(tried, text);
  } catch (e) {
    throw ioError("write", what, path, tried, e);
  }
}
