/** WebSocket frames written by hand, for tests that speak to the server below any client library. */

/** A client frame (RFC 6455 §5.2), masked unless told otherwise. */
export function frame(opcode: number, payload: Buffer, options: { mask?: boolean; fin?: boolean } = {}): Buffer {
  const mask = options.mask ?? true;
  const header: number[] = [((options.fin ?? true) ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (payload.length < 126) header.push(maskBit | payload.length);
  else if (payload.length < 65536) header.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else throw new Error('frame(): payload too long for this helper');
  if (!mask) return Buffer.concat([Buffer.from(header), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(header), key, masked]);
}
