/**
 * Option parsers shared by the commands: each names the option in its coded error.
 */
import { InvalidArgumentError } from './errors';

/** `--name <n>`: a positive integer. */
export function positiveInt(name: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--name <seconds>`: a positive number of seconds. */
export function positiveSeconds(name: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    return n;
  };
}
