/**
 * @wireseal/http/express: connect-style middleware for Express and plain
 * `node:http` servers.
 *
 * @module
 */
export { wiresealMiddleware, wiresealInfo } from './adapters/express.ts';
export type { WiresealMiddleware, WiresealMiddlewareOptions, WiresealHandler } from './adapters/express.ts';
