import { h2loadScenario } from '../lib/kits.ts';

export default h2loadScenario({
  name: 'hello-h2c',
  description: 'HTTP/2 (h2c) hello (13 bytes), h2load 16 connections x 32 streams',
  groups: ['hello', 'h2'],
  path: '/',
  connections: 16,
  streams: 32,
});
