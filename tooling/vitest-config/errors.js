/**
 * Runs `fn` (sync or async) and returns what it threw or rejected with, for
 * assertions on its code; fails when it completes instead.
 * @param {() => unknown} fn
 */
export async function caught(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}
