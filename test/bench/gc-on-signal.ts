/**
 * Diagnosis preload for `npm run bench:soak` only (never in the image): with `--expose-gc --import=<this>`, a
 * SIGUSR2 makes the process run two full garbage collections. The soak's leak figure reads RssAnon after them,
 * so it measures what the process retains, not where in V8's minutes-long GC sawtooth the reading fell.
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  gc();
  gc();
});
