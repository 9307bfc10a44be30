import { idleScenario } from '../lib/kits.ts';

export default idleScenario({
  name: 'memory-idle-h2',
  description: 'Server RSS per idle HTTP/2 (h2c) connection, 10,000 connections (one GET / each, then silent)',
  groups: ['memory'],
  transport: 'h2',
  count: 10_000,
});
