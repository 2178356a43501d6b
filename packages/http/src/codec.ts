/**
 * @wireseal/http/codec: the framework-agnostic codec the adapters are built
 * on, for code that puts wireseal in front of something else (a gateway,
 * another framework, another HTTP client). Compile routes once with
 * `codec.route(options)`, then make one `Exchange` per request with
 * `codec.exchange(route, head)`: it opens what arrives and seals what
 * leaves, on a server (`new HttpCodec(options)`) or a client
 * (`new HttpCodec(options, 'client')`). Applications use `@wireseal/http`
 * and the adapters' subpaths instead.
 *
 * @module
 */
export { HttpCodec } from './codec/codec.ts';
export type { HttpCodecOptions, FailureInfo } from './codec/codec.ts';
export { Exchange } from './codec/exchange.ts';
export type {
  Side,
  RequestDecision,
  Decision,
  ResponseHead,
  WiresealRequestInfo,
  DecodedRequest,
  ResponsePlan,
  EncodedResponse,
  JsonParser,
} from './codec/exchange.ts';
export type { CompiledRoute, RouteOptions, RouteTable } from './codec/route.ts';
export { problemFor, statusFor, defaultProblemType } from './codec/problem.ts';
export type { ProblemDetails, ProblemResponse, FailurePhase } from './codec/problem.ts';
export { JSON_TYPE, PROBLEM_TYPE, WIRESEAL_HEADER } from './media/media.ts';
export type { RequestHead, HeaderMap } from './media/media.ts';
