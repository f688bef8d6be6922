// A heavy library loaded by its first use instead of at start (issue #32: a capability nobody
// uses costs no memory). The promise is kept: later calls get the loaded module at once.

/** `load` run once, on the first call; every call answers its promise. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
