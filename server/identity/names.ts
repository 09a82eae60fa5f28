import { validationFailed } from '../errors.js';

/**
 * Display names (families, members, devices, invites) are shown to people deciding
 * things — above all the pairing screen, whose job is to name the device truthfully.
 * So: no control characters (NUL, newlines, C1), no bidi overrides or isolates that
 * reorder what is shown, not whitespace only, at most 100 characters. Emoji joiners
 * (U+200D) stay: families name themselves with them.
 */
export const DISPLAY_NAME_MAX = 100;
const FORBIDDEN_CHARS = '\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069';
export const DISPLAY_NAME_PATTERN = `^(?![\\s\\u200B\\uFEFF]*$)[^${FORBIDDEN_CHARS}]+$`;
const DISPLAY_NAME = new RegExp(DISPLAY_NAME_PATTERN, 'u');

export function isDisplayName(value: string): boolean {
  return value.length >= 1 && value.length <= DISPLAY_NAME_MAX && DISPLAY_NAME.test(value);
}

/** For the domain layer (the CLI reaches it without the HTTP schemas). */
export function assertDisplayName(value: string, path: string): void {
  if (!isDisplayName(value)) {
    throw validationFailed(`invalid ${path.replace(/^\//, '')}`, [
      { path, message: `1-${DISPLAY_NAME_MAX} characters, not only spaces, no control or bidi-override characters` },
    ]);
  }
}
