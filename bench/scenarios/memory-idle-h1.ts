import { idleScenario } from '../lib/kits.ts';

export default idleScenario({
  name: 'memory-idle-h1',
  description: 'Server RSS per idle HTTP/1.1 keep-alive connection, 10,000 connections (a GET / every 2 s keeps each alive)',
  groups: ['memory'],
  transport: 'h1',
  count: 10_000,
});
