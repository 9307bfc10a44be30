// What every bench app serves, in every runtime (Node, Bun, Deno):
//   GET  /        13 bytes "Hello, World!" (text/plain)
//   GET  /1mb     1 MiB of bytes (application/octet-stream)
//   POST /upload  reads the body, answers its length in bytes
//   /ws           WebSocket echo (where the contender serves WebSockets)
const env = globalThis.process?.env ?? globalThis.Deno?.env.toObject() ?? {};
export const HOST = '127.0.0.1';
export const PORT = Number(env.PORT ?? 3000);
export const CERT = env.CERT;
export const KEY = env.KEY;
export const HELLO = 'Hello, World!';
export const ONE_MB = new Uint8Array(1024 * 1024).fill(120);
