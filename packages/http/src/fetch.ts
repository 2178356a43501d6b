/**
 * @wireseal/http/fetch: a `fetch` wrapper that seals requests and opens
 * responses.
 *
 * @module
 */
export { createFetch } from './client/fetch.ts';
export type { CreateFetchOptions, FetchLike, RouteResolver } from './client/fetch.ts';
