import { h2loadScenario } from '../lib/kits.ts';

export default h2loadScenario({
  name: 'h2c-64x10',
  description: 'HTTP/2 (h2c) hello, h2load 64 connections x 10 streams',
  groups: ['h2'],
  path: '/',
  connections: 64,
  streams: 10,
});
