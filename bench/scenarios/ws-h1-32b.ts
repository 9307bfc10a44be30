import { wsScenario } from '../lib/kits.ts';

export default wsScenario({
  name: 'ws-h1-32b',
  description: 'WebSocket echo, 32 B binary messages, 50 clients with one message in flight each, over HTTP/1.1 Upgrade',
  groups: ['ws'],
  transport: 'h1',
  size: 32,
});
