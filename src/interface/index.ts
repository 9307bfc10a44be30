/** The NGI interface: types only, plus the error class and defineApp. Imports no runtime. */
export type * from './fields.ts';
export type * from './connection.ts';
export type * from './exchange.ts';
export type * from './features.ts';
export type { Handler, Application, AppExport } from './app.ts';
export { defineApp } from './app.ts';
export { NgiError, ErrorCodes, isNgiError, type ErrorCode } from './errors.ts';
