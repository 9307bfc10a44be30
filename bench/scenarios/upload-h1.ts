import { wrkScenario } from '../lib/kits.ts';

export default wrkScenario({
  name: 'upload-h1',
  description: 'HTTP/1.1 1 MiB upload (POST, body counted by the app), wrk -t1 -c16',
  groups: ['upload'],
  path: '/upload',
  connections: 16,
  lua: () => `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/octet-stream"\nwrk.body = string.rep("x", 1048576)\n`,
});
