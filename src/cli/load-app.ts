/**
 * Loads the application module named on the command line. TypeScript modules go through
 * tsx (Node 20 cannot strip types, and Node 22+ strips only erasable syntax); JavaScript
 * modules load without it, so a compiled app pays neither tsx's start-up nor its memory.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppExport } from '../interface/app.ts';
import { NgiError } from '../interface/errors.ts';

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
/** Set by bin/ngi.js when it already runs NGI from its sources through tsx. */
const kRegistered = Symbol.for('ngi.tsx-registered');

async function registerTypeScript(): Promise<void> {
  const flags = globalThis as { [kRegistered]?: boolean };
  if (flags[kRegistered]) return;
  // Both hooks: a .ts file outside a "type": "module" package is loaded as CommonJS.
  const { register: registerEsm } = await import('tsx/esm/api');
  const { register: registerCjs } = await import('tsx/cjs/api');
  registerEsm();
  registerCjs();
  flags[kRegistered] = true;
}

export async function loadApp(modulePath: string): Promise<AppExport> {
  const url = pathToFileURL(path.resolve(modulePath)).href;
  let mod: { default?: unknown };
  try {
    if (TYPESCRIPT.test(modulePath)) await registerTypeScript();
    mod = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new NgiError('APP_LOAD_FAILED', `cannot load ${modulePath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const app = mod.default;
  if (typeof app === 'function' || (app !== null && typeof app === 'object' && typeof (app as { handle?: unknown }).handle === 'function')) {
    return app as AppExport;
  }
  throw new NgiError('APP_LOAD_FAILED', `${modulePath} has no default export that is an NGI application (a function, or an object with handle())`);
}
