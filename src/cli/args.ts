// Option parsers for commander: a bad value is a usage error with a hint, like any other.
import { Option } from 'commander';
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

/** An option taking a duration, whose default shows in --help as written ("3d", not 259200000). */
export function durationOption(flags: string, description: string, defaultText: string): Option {
  return new Option(flags, description).argParser(durationArg).default(durationArg(defaultText), defaultText);
}
