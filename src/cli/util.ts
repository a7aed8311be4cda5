/**
 * CLI plumbing shared by all commands: the exit-code convention and error printing.
 *   0 = ok, 1 = a check failed, 2 = bad input (one clear line, no stack trace).
 * The CLI is the only place that touches the filesystem, process and console.
 */
import { InputError } from "../errors.ts";

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Raised by commands for a command-line value that is wrong (not a file's content). */
export function usageError(option: string, detail: string): InputError {
  return new InputError({ file: "<command line>", field: option }, detail);
}

/** Wraps a command action: user errors print one line and exit 2; anything else is a bug. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === "number" ? code : EXIT_OK;
    } catch (err) {
      if (err instanceof InputError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = EXIT_BAD_INPUT;
        return;
      }
      throw err;
    }
  };
}

/** Parses a non-negative integer option; throws a usage error naming the option. */
export function intOption(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || Number(value) < min) {
    throw usageError(name, `expected an integer ≥ ${min}, got "${value}"`);
  }
  return Number(value);
}

/** Writes text to stdout, ignoring EPIPE (e.g. `./sim iptables-save ... | head`). */
export function out(text: string): void {
  process.stdout.write(text);
}
