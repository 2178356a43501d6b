/**
 * @wireseal-apps/gateway: a sample API gateway with a per-service payload
 * encryption switch (one service = one key, or one key per audience,
 * referenced by id), configured by a watched JSON file.
 *
 * @module
 */
export { startGateway } from './gateway.ts';
export type { Gateway, GatewayEvent, GatewayOptions, ServiceStats, ServiceSummary } from './gateway.ts';
export { GatewayConfigError, matchService, parseGatewayConfig } from './config.ts';
export { CONSOLE_CSP, WIRE_FORMAT, adminTokenFromEnv, serviceEtag } from './admin.ts';
export type { AdminOptions, AuditEntry } from './admin.ts';
export type { GatewayConfigJson, KeyringEntryJson, ServiceConfig, ServiceConfigJson, ServiceKeyRef } from './config.ts';
export { keyView, serviceKeyProvider, serviceKeyring } from './service-keys.ts';
