/*
 * The process side of pcpu-kernel as a Unix tool: which directory relative
 * paths start from, and stdout/stderr that end quietly when the reader goes
 * away (`pcpu-kernel boot | head -1`).
 */

/** The environment variables userCwd reads. */
export interface CwdEnv {
  readonly INIT_CWD?: string;
  readonly npm_lifecycle_event?: string;
  readonly npm_package_name?: string;
}

/** The package scripts that start the CLI (root `kernel`/`start`, @pcpu/kernel's `cli`/`start`). */
const CLI_SCRIPTS: Readonly<Record<string, readonly string[]>> = {
  pcpu: ["kernel", "start"],
  "@pcpu/kernel": ["cli", "start"],
};

/**
 * The directory the user ran the command in. A package script (`pnpm
 * kernel`, `pnpm --dir REPO kernel`, `pnpm start`) runs in the package's
 * directory and the package manager keeps the user's directory in INIT_CWD;
 * that is trusted only when the running script is one of ours, so a bin run
 * from a user's own script (`cd sub && pcpu-kernel ...` inside
 * `npm run x`) still resolves from where it stands.
 */
export function userCwd(env: CwdEnv, processCwd: string): string {
  const scripts = env.npm_package_name === undefined ? undefined : CLI_SCRIPTS[env.npm_package_name];
  if (
    env.INIT_CWD !== undefined &&
    env.INIT_CWD !== "" &&
    scripts !== undefined &&
    env.npm_lifecycle_event !== undefined &&
    scripts.includes(env.npm_lifecycle_event)
  )
    return env.INIT_CWD;
  return processCwd;
}

/** The part of a Node stream the CLI writes to. */
export interface NodeOutStream {
  readonly isTTY?: boolean;
  write(s: string): boolean;
  on(event: "error", fn: (e: NodeJS.ErrnoException) => void): unknown;
}

/**
 * stdout that ends the process quietly (status 0, nothing on stderr) when
 * the reading end of a pipe closes, as `yes | head -1` ends without a
 * message; any other write error is reported once on stderr with status 1.
 */
export function quietOnClosedPipe(
  stdout: NodeOutStream,
  stderr: NodeOutStream,
  exit: (code: number) => void,
): void {
  stdout.on("error", (e) => {
    if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") {
      exit(0);
      return;
    }
    stderr.write(`pcpu-kernel: cannot write to stdout: ${e.code ?? e.message}\n`);
    exit(1);
  });
  /* A closed stderr has no one left to tell. */
  stderr.on("error", () => {});
}
