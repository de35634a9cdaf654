// Precise answer timing for failed sign-ins (every protocol answers a failure at the same moment after
// the client's line, whatever work its reason took).

/**
 * Resolves at `deadline` (a performance.now() time), to a few microseconds: a timer to just before it,
 * then turns of the event loop. A timer alone fires on a millisecond grid measured from when it was set,
 * which would let the work done before it (reading an account record, or not) show in the answer time.
 */
export function until(deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (performance.now() >= deadline ? resolve() : setImmediate(poll));
    const early = deadline - performance.now() - 2;
    if (early > 0) setTimeout(poll, early);
    else poll();
  });
}
