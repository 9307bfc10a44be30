/** The request as the application sees it, computed lazily from what node parsed. */
import type { Request } from '../interface/exchange.ts';
import { FlatFields } from '../core/fields.ts';
import type { NodeRequestBody } from './request-body.ts';

export class RequestImpl implements Request {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  readonly body: NodeRequestBody;
  readonly #target: string;
  readonly #rawHeaders: readonly string[];
  readonly #http2: boolean;
  #authority: string | undefined;
  #headers: FlatFields | undefined;
  #queryAt = -2;

  constructor(method: string, scheme: 'http' | 'https', authority: string | undefined, target: string, rawHeaders: readonly string[], http2: boolean, body: NodeRequestBody) {
    this.method = method;
    this.scheme = scheme;
    this.#authority = authority;
    this.#target = target;
    this.#rawHeaders = rawHeaders;
    this.#http2 = http2;
    this.body = body;
  }

  get headers(): FlatFields {
    return (this.#headers ??= this.#http2 ? FlatFields.fromHttp2(this.#rawHeaders) : FlatFields.fromHttp1(this.#rawHeaders));
  }

  get authority(): string {
    return (this.#authority ??= this.headers.get('host') ?? '');
  }

  /** The request-target as sent (origin-form path and query). */
  get target(): string {
    return this.#target;
  }

  #split(): number {
    if (this.#queryAt === -2) this.#queryAt = this.#target.indexOf('?');
    return this.#queryAt;
  }

  get path(): string {
    const q = this.#split();
    return q < 0 ? this.#target : this.#target.slice(0, q);
  }

  get query(): string {
    const q = this.#split();
    return q < 0 ? '' : this.#target.slice(q + 1);
  }

  toJSON(): object {
    return { method: this.method, scheme: this.scheme, authority: this.authority, path: this.path, query: this.query, headers: this.headers.toJSON() };
  }
}
