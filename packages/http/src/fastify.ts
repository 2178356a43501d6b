/**
 * @wireseal/http/fastify: the Fastify plugin.
 *
 * @module
 */
export { wiresealFastify } from './adapters/fastify.ts';
export type { WiresealFastifyOptions } from './adapters/fastify.ts';
