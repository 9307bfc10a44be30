import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNgiError, NgiError } from '../../src/interface/errors.ts';

test('NgiError: instanceof holds across loaded copies of NGI, subclasses keep their own check', async () => {
  // A second instance of the module (a different URL), as when an application loads NGI's
  // sources while the CLI runs the compiled package.
  const copy = (await import(`../../src/interface/errors.ts?copy=${Date.now()}`)) as typeof import('../../src/interface/errors.ts');
  assert.notEqual(copy.NgiError, NgiError, 'two distinct classes');
  const foreign = new copy.NgiError('BODY_TOO_LARGE', 'from the other copy');
  assert.ok(foreign instanceof NgiError);
  assert.ok(isNgiError(foreign));
  assert.equal(foreign.status, 413);
  assert.ok(new NgiError('SHUTDOWN', 'x') instanceof copy.NgiError);
  assert.ok(!(new Error('plain') instanceof NgiError));
  for (const value of [null, undefined, 'NgiError', 413] as unknown[]) assert.ok(!((value as object) instanceof NgiError));
  assert.ok(!({ code: 'NGI_ERR_SHUTDOWN', name: 'NgiError' } instanceof NgiError), 'look-alikes are not NgiErrors');

  class AppError extends NgiError {}
  assert.ok(new AppError('SHUTDOWN', 'x') instanceof NgiError);
  assert.ok(new AppError('SHUTDOWN', 'x') instanceof AppError);
  assert.ok(!(new NgiError('SHUTDOWN', 'x') instanceof AppError), 'an NgiError is not an AppError');
});
