import { wrkScenario } from '../lib/kits.ts';

export default wrkScenario({
  name: 'hello-h1',
  description: 'HTTP/1.1 hello (13 bytes), wrk -t1 -c64',
  groups: ['hello'],
  path: '/',
  connections: 64,
});
