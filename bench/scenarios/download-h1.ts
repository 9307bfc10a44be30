import { wrkScenario } from '../lib/kits.ts';

export default wrkScenario({
  name: 'download-h1',
  description: 'HTTP/1.1 1 MiB download, wrk -t1 -c16',
  groups: ['download'],
  path: '/1mb',
  connections: 16,
});
