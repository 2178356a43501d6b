import { WiresealError } from '@wireseal/core/errors';

/** The code of the WiresealError `fn` throws, or `no error`; anything else is rethrown. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof WiresealError) return err.code;
    throw err;
  }
  return 'no error';
}
