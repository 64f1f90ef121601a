/**
 * Validation of identifiers and role paths that arrive from outside.
 */
import { GalaxyError, type ErrorCode } from './errors.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$/;
const ROLE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Throws unless `value` is a safe id: letters, digits and `_ . : @ -`, at most 200 characters. */
export function checkId(value: string, what: string, code: ErrorCode = 'GALAXY_E_INVALID_ARGUMENT'): void {
  if (!ID.test(value) || value.includes('..')) {
    throw new GalaxyError(
      code,
      `${what} "${value.slice(0, 60)}" is not a valid id (letters, digits, _ . : @ -, starting with a letter or digit, at most 200)`,
    );
  }
}

/** Throws unless `role` is `*` or a path like `eng/search` of safe segments. */
export function checkRole(role: string, code: ErrorCode = 'GALAXY_E_INVALID_ARGUMENT'): void {
  if (role === '*') return;
  const segments = role.split('/');
  if (!segments.every((s) => ROLE_SEGMENT.test(s) && s !== '.' && s !== '..')) {
    throw new GalaxyError(code, `role "${role.slice(0, 80)}" is not "*" or a path such as "eng/search"`);
  }
}
