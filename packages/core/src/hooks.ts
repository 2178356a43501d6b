/**
 * Calling operators' hooks (`onError`, `onRefresh`, `onOpen`...): a library
 * cannot log, and a hook's failure must never break a refresh or a request.
 */

/**
 * Calls `hook` with `args` if it is set. A hook that throws, or returns a
 * promise that rejects, is ignored: its failure is the hook's business.
 * For the wireseal packages (exported from `@wireseal/core/internal`).
 */
export function safeCall<A extends unknown[]>(hook: ((...args: A) => unknown) | undefined, ...args: A): void {
  if (!hook) return;
  try {
    const result = hook(...args);
    // An async hook that rejects would otherwise be an unhandled rejection (a crash on Node).
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, () => undefined);
  } catch {
    /* the hook's business */
  }
}
