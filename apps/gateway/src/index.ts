/**
 * @wireseal-apps/gateway: a sample API gateway with a per-service payload
 * encryption switch (one service = one key, referenced by id), configured by
 * a watched JSON file.
 *
 * @module
 */
export { startGateway } from './gateway.ts';
export type { Gateway, GatewayEvent, GatewayOptions, ServiceStats, ServiceSummary } from './gateway.ts';
export { matchService, parseGatewayConfig } from './config.ts';
export type { GatewayConfigJson, ServiceConfig, ServiceConfigJson } from './config.ts';
export { keyView, serviceKeyProvider } from './service-keys.ts';
