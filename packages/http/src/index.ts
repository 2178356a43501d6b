/**
 * @wireseal/http: encrypted request and response bodies over HTTP. This entry
 * point is what an application configures: route and adapter options,
 * profiles, key sets and their providers, the replay store, problem details.
 * The adapters live on their own subpaths: `@wireseal/http/express` (Express
 * and `node:http`), `@wireseal/http/fastify` and `@wireseal/http/fetch`; the
 * codec they are built on (for gateways and other adapters) on
 * `@wireseal/http/codec`.
 *
 * @module
 */
export type { HttpCodecOptions, FailureInfo } from './codec/codec.ts';
export type { WiresealRequestInfo } from './codec/exchange.ts';
export { DEFAULT_FRESHNESS, DEFAULT_MAX_BODY_BYTES, DIRECTION_CONTEXT_KEY } from './codec/route.ts';
export type { RouteOptions, RouteTable, SealMode, Encryption, ContextOption, PolicyOption, FreshnessOptions } from './codec/route.ts';
export { MemoryReplayStore } from './codec/replay.ts';
export type { ReplayStore, ReplayVerdict, MemoryReplayStoreOptions } from './codec/replay.ts';
export { problemFor, statusFor } from './codec/problem.ts';
export type { ProblemDetails, ProblemResponse, FailurePhase } from './codec/problem.ts';
export { UnsupportedMediaTypeError } from './codec/errors.ts';
export { WIRESEAL_HEADER } from './media/media.ts';
export type { RequestHead, HeaderMap } from './media/media.ts';
export { sharedKeyJose, JOSE_TYPE } from './profiles/shared-jose.ts';
export type { PayloadProfile, ProfileContext, OpenedPayload, SealedPayload } from './profiles/types.ts';
export { publicKeyJose, publicKeyJoseClient, WIRESEAL_CLIENT_HEADER } from './profiles/public-jose.ts';
export type { PublicKeyJoseOptions, PublicKeyJoseClientOptions, PublicJoseOpenInfo } from './profiles/public-jose.ts';
export { hpke, hpkeClient, HPKE_TYPE, HPKE_HEADERS, hpkeRequestInfo, hpkeResponseInfo, hpkeAad } from './profiles/hpke.ts';
export type { HpkeOptions, HpkeClientOptions, HpkeOpenInfo } from './profiles/hpke.ts';
export { PrivateKeySet, PublicKeySet } from './keys/keysets.ts';
export type { JwksInput, GenerateKeyOptions } from './keys/keysets.ts';
export { HPKE_ALG, RSA_MIN_BITS, RSA_MAX_BITS } from './keys/jwk.ts';
export type { AsymmetricKeyInfo, PublicKeyAlg, PublicJweAlg } from './keys/jwk.ts';
export { jwksProvider, jwksFile, currentSet } from './keys/provider.ts';
export type { AsymmetricKeyProvider, AsymmetricKeySource, JwksProviderOptions, JwksLoadInfo, RefreshingJwksProvider } from './keys/provider.ts';
