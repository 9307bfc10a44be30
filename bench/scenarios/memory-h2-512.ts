import { concurrentStreamsMemoryScenario } from '../lib/kits.ts';

// 4 x 128 rather than 1 x 512: NGI advertises SETTINGS_MAX_CONCURRENT_STREAMS 128 by default.
export default concurrentStreamsMemoryScenario({
  name: 'memory-h2-512',
  description: 'Peak server RSS under 512 concurrent HTTP/2 streams (hello), h2load 4 connections x 128 streams',
  groups: ['memory'],
  path: '/',
  connections: 4,
  streams: 128,
});
