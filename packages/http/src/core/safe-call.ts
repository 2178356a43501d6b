/** Calls an operator's hook; a hook that throws is the hook's business, never the request's. */
export function safeCall<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    hook?.(...args);
  } catch {
    /* the hook's business */
  }
}
