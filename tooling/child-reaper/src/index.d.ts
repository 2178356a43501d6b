/** A child process to kill (synchronously) when this Node process exits or is signalled. */
export interface Killable {
  kill(): void;
}
/** Registers a child; installs the exit and signal hooks on first use. */
export declare function track(entry: Killable): void;
/** Unregisters a child; removes the hooks when none is left. */
export declare function untrack(entry: Killable): void;
