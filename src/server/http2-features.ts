/**
 * What the two HTTP/2 glues (node:http2 in http2.ts, NGI's own framing in http2-ngi.ts) offer
 * alike on every exchange: early hints, response trailers, flow control, the http2 feature,
 * and the checks a push request passes before either pushes it.
 */
import type { EarlyHintsFeature, Features, FlowControlFeature, Http2Feature, Http2PeerSettings, PriorityFeature, PushFeature, PushRequest, ResponseTrailersFeature, WebSocketFeature } from '../interface/features.ts';
import type { FieldsInit } from '../interface/fields.ts';
import { NgiError } from '../interface/errors.ts';
import { acceptsTrailers } from '../core/fields.ts';
import { normalizeFields } from '../core/outgoing-fields.ts';
import type { ConnectionState } from './connection.ts';
import type { RequestImpl } from './request.ts';

export interface EarlyHintsSender {
  sendEarlyHints(fields: FieldsInit): Promise<void>;
}

export abstract class Http2FeaturesBase implements Features, EarlyHintsFeature, ResponseTrailersFeature, Http2Feature {
  websocket: WebSocketFeature | undefined = undefined;
  readonly drain: ConnectionState;
  protected readonly request: RequestImpl;
  readonly #hints: EarlyHintsSender;

  constructor(request: RequestImpl, hints: EarlyHintsSender, connection: ConnectionState) {
    this.request = request;
    this.#hints = hints;
    this.drain = connection;
  }

  abstract readonly streamId: number;
  /** Present while the peer allows pushes (SETTINGS_ENABLE_PUSH) and this stream can carry them. */
  abstract readonly push: PushFeature | undefined;
  abstract readonly priority: PriorityFeature;
  abstract readonly peerSettings: Http2PeerSettings;

  get earlyHints(): EarlyHintsFeature {
    return this;
  }

  get responseTrailers(): ResponseTrailersFeature {
    return this;
  }

  get http2(): Http2Feature {
    return this;
  }

  get flowControl(): FlowControlFeature {
    return this.request.body;
  }

  send(fields: FieldsInit): Promise<void> {
    return this.#hints.sendEarlyHints(fields);
  }

  get acceptedByClient(): boolean {
    return acceptsTrailers(this.request.headers);
  }
}

export interface CheckedPush {
  method: 'GET' | 'HEAD';
  path: string;
  scheme: 'http' | 'https';
  authority: string;
  /** The promised request's own fields, validated, without pseudo-header fields. */
  flat: string[];
}

/** A push request as RFC 9113 §8.4 allows it (a safe, cacheable method; an absolute path); throws NGI_ERR_INVALID_OPTION or a field error otherwise. */
export function checkPush(init: PushRequest, request: RequestImpl): CheckedPush {
  const method = init.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw new NgiError('INVALID_OPTION', `push(): ${String(method)} is not a safe, cacheable method (RFC 9113 §8.4)`);
  if (!init.path.startsWith('/')) throw new NgiError('INVALID_OPTION', `push(): the path must start with '/', got ${JSON.stringify(init.path)}`);
  const { flat } = normalizeFields(init.headers);
  return { method, path: init.path, scheme: request.scheme, authority: init.authority ?? request.authority, flat };
}

export const PUSH_REFUSED_MESSAGE = 'push(): the client does not accept pushes now, or the parent stream has closed';
