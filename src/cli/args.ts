// Option parsers for commander: a bad value is a usage error with a hint, like any other.
import { SealdropError } from '../core/errors.js';
import { parseDuration, parseSize } from '../core/units.js';

export function integerArg(text: string): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new SealdropError('USAGE', `"${text}" is not a whole number`);
  }
  return value;
}

export const sizeArg = (text: string): number => parseSize(text);
export const durationArg = (text: string): number => parseDuration(text);

/** commander collects repeated options through this. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
