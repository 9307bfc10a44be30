/**
 * Webpush-style notifications over HTTP/2 server push (cf. draft-thomson-webpush-http2):
 * a client holds `GET /subscribe` open; every `POST /notify` body is delivered to each
 * subscriber as a pushed response (`/notifications/<n>`) promised on that long-lived stream.
 *
 * Where push is absent (HTTP/1.1, or a client that disabled it with SETTINGS_ENABLE_PUSH=0)
 * the same code degrades: notifications are written as lines of the subscription response.
 *
 *   npx ngi serve examples/webpush/app.ts --port 8001
 *   nghttp -v http://127.0.0.1:8001/subscribe          # shows PUSH_PROMISE frames
 *   curl -d 'hello' http://127.0.0.1:8001/notify
 */
import { defineApp, type Exchange, type ResponseWriter } from '../../src/index.ts';

interface Subscriber {
  /** The exchange's features: `push` is read at each use, since the client may disable it. */
  readonly features: Exchange['features'];
  readonly body: ResponseWriter;
}

interface State {
  readonly subscribers: Set<Subscriber>;
  sent: number;
}

async function subscribe(exchange: Exchange<State>): Promise<void> {
  const body = exchange.response.start(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  const subscriber: Subscriber = { features: exchange.features, body };
  await body.write(subscriber.features.push ? 'subscribed: notifications arrive as pushes\n' : 'subscribed: notifications arrive as lines\n');
  exchange.state.subscribers.add(subscriber);
  // Held open until the client leaves or the server drains.
  const drain = exchange.features.drain?.signal;
  await new Promise<void>((resolve) => {
    exchange.signal.addEventListener('abort', () => resolve(), { once: true });
    drain?.addEventListener('abort', () => resolve(), { once: true });
  });
  exchange.state.subscribers.delete(subscriber);
  if (!exchange.signal.aborted) await body.end('bye\n').catch(() => {});
}

async function deliver(subscriber: Subscriber, id: number, message: string): Promise<void> {
  // The feature is re-checked per use: the client may have disabled push since.
  const push = subscriber.features.push;
  if (push) {
    try {
      const pushed = await push.push({ path: `/notifications/${id}` });
      pushed.response.send(200, { 'content-type': 'text/plain; charset=utf-8' }, message);
      return;
    } catch {
      // Refused now (push disabled, stream closing): fall back to the line.
    }
  }
  await subscriber.body.write(`notification ${id}: ${message}\n`);
}

export default defineApp<State>({
  startup: () => ({ subscribers: new Set(), sent: 0 }),
  async handle(exchange) {
    const { request, response, state } = exchange;
    if (request.path === '/subscribe') return subscribe(exchange);
    if (request.path === '/notify' && request.method === 'POST') {
      const message = await request.body.text({ limit: 4096 });
      const id = ++state.sent;
      const results = await Promise.allSettled([...state.subscribers].map((s) => deliver(s, id, message)));
      const delivered = results.filter((r) => r.status === 'fulfilled').length;
      return response.send(202, { 'content-type': 'application/json' }, JSON.stringify({ id, delivered }) + '\n');
    }
    response.send(404, { 'content-type': 'text/plain' }, 'Not Found\n');
  },
});
