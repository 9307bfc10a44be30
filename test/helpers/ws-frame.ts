/** WebSocket frames written by hand, for tests that speak to the server below any client library. */

export interface ClientFrameOptions {
  fin?: boolean;
  /** RSV1-3 as the 0x70 bits of the first byte. */
  rsv?: number;
  mask?: boolean;
  /** The masking key; an all-zero key is legal and leaves the payload as it is (cheap for bulk frames). */
  key?: Buffer;
  /** The length form: 7, 16 or 64 bits; the smallest that fits unless told (§5.2 allows any). */
  form?: 7 | 16 | 64 | undefined;
  /** The 64-bit length written in place of the payload's (the payload itself is still written). */
  announce?: bigint | undefined;
}

const DEFAULT_KEY = Buffer.from([0x12, 0x34, 0x56, 0x78]);

/** A client frame (RFC 6455 §5.2) of any length, masked unless told otherwise. */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), o: ClientFrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const mask = o.mask ?? true;
  const key = o.key ?? DEFAULT_KEY;
  const length = data.length;
  const form = o.announce !== undefined ? 64 : (o.form ?? (length < 126 ? 7 : length < 65536 ? 16 : 64));
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (form === 7) head.push(m | length);
  else if (form === 16) head.push(m | 126, length >>> 8, length & 0xff);
  else {
    head.push(m | 127);
    const n = o.announce ?? BigInt(length);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((n >> shift) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  head.push(...key);
  if (key.every((b) => b === 0)) return Buffer.concat([Buffer.from(head), data]);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), masked]);
}

/** A Close frame's payload (§5.5.1): the code, then the reason. */
export function closeBody(code: number, reason: Buffer | string = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
  const body = Buffer.alloc(2 + r.length);
  body.writeUInt16BE(code, 0);
  r.copy(body, 2);
  return body;
}
