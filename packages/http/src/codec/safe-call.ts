/** Calls an operator's hook; a hook that throws is the hook's business, never the request's (one implementation, in core). */
export { safeCall } from '@wireseal/core/internal';
