/**
 * Bad input (a scenario, a manifest, a rules file, a command-line value) is reported with one
 * clear line naming where and what was expected; the CLI prints it and exits 2.
 * Packet fates are never exceptions: they go to the trace.
 */
export interface InputErrorLocation {
  /** File path as the user gave it ("-" or "<command line>" when not a file). */
  readonly file: string;
  /** 1-based line and column, when known. */
  readonly line?: number;
  readonly column?: number;
  /** Field path such as "spec.ports[0].targetPort", or an option name such as "--dport". */
  readonly field?: string;
}

export class InputError extends Error {
  readonly location: InputErrorLocation;
  /** What was wrong and what was expected, e.g. 'expected an IPv4 CIDR such as 10.0.0.0/16, got "10.0.0/16"'. */
  readonly detail: string;

  constructor(location: InputErrorLocation, detail: string) {
    super(formatInputError(location, detail));
    this.name = "InputError";
    this.location = location;
    this.detail = detail;
  }
}

/** "file:line:col: field: detail" with the parts that are known. */
export function formatInputError(loc: InputErrorLocation, detail: string): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}`;
  if (loc.line !== undefined && loc.column !== undefined) where += `:${loc.column}`;
  const field = loc.field ? ` ${loc.field}:` : "";
  return `${where}:${field} ${detail}`;
}

/** Non-fatal findings (e.g. a Service that selects no pod). */
export interface InputWarning {
  readonly location: InputErrorLocation;
  readonly detail: string;
}

export function formatWarning(w: InputWarning): string {
  return `warning: ${formatInputError(w.location, w.detail)}`;
}
