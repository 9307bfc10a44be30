import { h2loadScenario } from '../lib/kits.ts';

export default h2loadScenario({
  name: 'hello-h2-tls',
  description: 'HTTP/2 over TLS (ALPN h2) hello, h2load 16 connections x 32 streams',
  groups: ['h2', 'tls'],
  path: '/',
  connections: 16,
  streams: 32,
  tls: true,
});
