/*
 * How many frames a workload run gives, known before it starts (so the
 * plots' x axis can be sized): apps/kernel's workloadParams calls the
 * progress callback every max(1, floor(ops / 200)) ops and after the last
 * op; the page adds the boot frame and the frame after the run returned.
 */

/** Frames of a run of `ops` operations, boot and done included. */
export function workloadFrames(ops: number): number {
  const every = Math.max(1, Math.floor(ops / 200));
  const ticks = Math.floor(ops / every) + (ops % every === 0 ? 0 : 1);
  return 1 + ticks + 1;
}
