/** NGI: the interface and its reference server. */
export * from './interface/index.ts';
export { serve, type ServerHandle } from './server/serve.ts';
export type { ServeOptions, Limits, Timeouts, TlsOptions, WebSocketOptions } from './server/options.ts';
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from './server/options.ts';
export { createSelfSignedCertificate } from './tls/self-signed.ts';
