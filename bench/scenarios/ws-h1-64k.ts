import { wsScenario } from '../lib/kits.ts';

export default wsScenario({
  name: 'ws-h1-64k',
  description: 'WebSocket echo, 64 KiB binary messages, 50 clients with one message in flight each, over HTTP/1.1 Upgrade',
  groups: ['ws'],
  transport: 'h1',
  size: 65536,
});
