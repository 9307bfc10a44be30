import { wsScenario } from '../lib/kits.ts';

export default wsScenario({
  name: 'ws-h2-64k',
  description: 'WebSocket echo, 64 KiB binary messages, 50 clients with one message in flight each, over HTTP/2 (RFC 8441 CONNECT stream, one h2c connection per client)',
  groups: ['ws'],
  transport: 'h2',
  size: 65536,
});
