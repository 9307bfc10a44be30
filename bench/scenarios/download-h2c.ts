import { h2loadScenario } from '../lib/kits.ts';

export default h2loadScenario({
  name: 'download-h2c',
  description: 'HTTP/2 (h2c) 1 MiB download, h2load 4 connections x 4 streams',
  groups: ['download'],
  path: '/1mb',
  connections: 4,
  streams: 4,
});
