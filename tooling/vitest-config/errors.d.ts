/** Runs `fn` (sync or async) and returns what it threw or rejected with, for assertions on its code; fails when it completes instead. */
export declare function caught<E = Error>(fn: () => unknown): Promise<E>;
