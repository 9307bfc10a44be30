/**
 * Why a peer's frames were refused: a stable code, and the close code the server sends before
 * it stops reading (RFC 6455 §7.4.1). The codes are ws's (WS_ERR_*) where ws has one, so a log
 * line reads the same whichever framing the server runs.
 */
export type WsFrameErrorCode =
  | 'WS_ERR_UNEXPECTED_RSV_1'
  | 'WS_ERR_UNEXPECTED_RSV_2_3'
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_EXPECTED_FIN'
  | 'WS_ERR_EXPECTED_MASK'
  | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  | 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_INVALID_CLOSE_CODE';

const CLOSE_CODE: Record<WsFrameErrorCode, number> = {
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
};

export class WsFrameError extends Error {
  readonly code: WsFrameErrorCode;
  /** The close code the server answers with: 1002 protocol error, 1007 invalid data, 1009 too big. */
  readonly closeCode: number;

  constructor(code: WsFrameErrorCode, message: string) {
    super(message);
    this.name = 'WsFrameError';
    this.code = code;
    this.closeCode = CLOSE_CODE[code];
  }
}
