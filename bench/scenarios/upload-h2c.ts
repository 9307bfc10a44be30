import { h2loadScenario } from '../lib/kits.ts';

export default h2loadScenario({
  name: 'upload-h2c',
  description: 'HTTP/2 (h2c) 1 MiB upload (POST, body counted by the app), h2load 4 connections x 4 streams',
  groups: ['upload'],
  path: '/upload',
  connections: 4,
  streams: 4,
  upload: 1024 * 1024,
});
