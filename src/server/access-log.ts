/** One line per exchange: client, protocol, method, target, status, body bytes, duration. */
import type { ExchangeImpl } from './exchange.ts';

export function formatAccessLine(exchange: ExchangeImpl): string {
  const r = exchange.request;
  const status = exchange.response.status === 0 ? '-' : String(exchange.response.status);
  const ms = (performance.now() - exchange.startedAt).toFixed(1);
  const cancelled = exchange.cancelled ? ' cancelled' : '';
  return `${exchange.connection.client.address} ${exchange.protocol} ${r.method} ${r.target} ${status} ${exchange.response.bytesWritten}B ${ms}ms${cancelled}`;
}
