/**
 * Why a request could not be parsed: a stable code, and the status the server answers with
 * before it closes the connection (RFC 9112 §2.2: a server that cannot frame a request must
 * not guess where the next one starts).
 */
export type H1ErrorCode =
  | 'H1_INVALID_REQUEST_LINE'
  | 'H1_UNSUPPORTED_VERSION'
  | 'H1_URI_TOO_LONG'
  | 'H1_BARE_LF'
  | 'H1_OBS_FOLD'
  | 'H1_INVALID_FIELD_NAME'
  | 'H1_INVALID_FIELD_VALUE'
  | 'H1_HEADERS_TOO_LARGE'
  | 'H1_MISSING_HOST'
  | 'H1_DUPLICATE_HOST'
  | 'H1_INVALID_CONTENT_LENGTH'
  | 'H1_DUPLICATE_CONTENT_LENGTH'
  | 'H1_CONTENT_LENGTH_WITH_TRANSFER_ENCODING'
  | 'H1_INVALID_TRANSFER_ENCODING'
  | 'H1_UNSUPPORTED_TRANSFER_CODING'
  | 'H1_INVALID_CHUNK'
  | 'H1_CHUNK_EXTENSIONS_TOO_LARGE'
  | 'H1_TRAILERS_TOO_LARGE'
  | 'H1_FORBIDDEN_TRAILER';

const STATUS: Record<H1ErrorCode, number> = {
  H1_INVALID_REQUEST_LINE: 400,
  H1_UNSUPPORTED_VERSION: 505,
  H1_URI_TOO_LONG: 414,
  H1_BARE_LF: 400,
  H1_OBS_FOLD: 400,
  H1_INVALID_FIELD_NAME: 400,
  H1_INVALID_FIELD_VALUE: 400,
  H1_HEADERS_TOO_LARGE: 431,
  H1_MISSING_HOST: 400,
  H1_DUPLICATE_HOST: 400,
  H1_INVALID_CONTENT_LENGTH: 400,
  H1_DUPLICATE_CONTENT_LENGTH: 400,
  H1_CONTENT_LENGTH_WITH_TRANSFER_ENCODING: 400,
  H1_INVALID_TRANSFER_ENCODING: 400,
  H1_UNSUPPORTED_TRANSFER_CODING: 501,
  H1_INVALID_CHUNK: 400,
  H1_CHUNK_EXTENSIONS_TOO_LARGE: 400,
  H1_TRAILERS_TOO_LARGE: 431,
  H1_FORBIDDEN_TRAILER: 400,
};

export class H1ParseError extends Error {
  readonly code: H1ErrorCode;
  /** The status of the answer (400, 414, 431, 501, 505). */
  readonly status: number;

  constructor(code: H1ErrorCode, message: string) {
    super(message);
    this.name = 'H1ParseError';
    this.code = code;
    this.status = STATUS[code];
  }
}
