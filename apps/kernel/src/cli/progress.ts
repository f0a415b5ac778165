/*
 * A progress bar on stderr for runs longer than a second, drawn only when
 * stderr is a terminal.
 */

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

/** Returns the progress callback and a finish function that clears the bar. */
export function createProgress(label: string, stream: ProgressStream, now: () => number = Date.now) {
  const start = now();
  let shown = false;
  let last = -1;
  const update = (done: number, total: number) => {
    if (!stream.isTTY || total <= 0) return;
    if (!shown && now() - start < 1000) return;
    const pct = Math.floor((done * 100) / total);
    if (pct === last) return;
    last = pct;
    shown = true;
    const width = 30;
    const fill = Math.round((pct * width) / 100);
    stream.write(
      `\r${label} [${"#".repeat(fill)}${".".repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${total}`,
    );
  };
  const finish = () => {
    if (shown) stream.write("\r\x1b[K");
  };
  return { update, finish };
}
